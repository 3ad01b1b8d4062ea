import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { StoredStatus } from "../../src/storage/status.ts";
import type { Stores } from "../../src/storage/stores.ts";

let counter = 0;
function freshPoster(): string {
  counter += 1;
  return `st${process.pid}x${counter}t${Date.now()}`;
}

function status(poster: string, id: string, overrides: Partial<StoredStatus> = {}): StoredStatus {
  const ts = Date.now();
  return { poster, id, kind: "text", body: `hello ${id}`, audience: { type: "list", allow: ["v1", "v2"], deny: [] }, ts, expiresAt: ts + 60_000, ...overrides };
}

/** StatusStore (src/storage/status.ts) on every backend. */
export function statusStoreContract(name: string, open: () => Promise<Stores>): void {
  describe(`${name} store contract: status updates`, () => {
    let stores: Stores;
    before(async () => {
      stores = await open();
    });
    after(async () => {
      await stores.close();
    });

    it("keeps a poster's live statuses newest first, with their audience and bytes", async () => {
      const poster = freshPoster();
      const now = Date.now();
      await stores.status.post(status(poster, "a1"));
      await stores.status.post(status(poster, "a2", { kind: "cipher", body: new Uint8Array([1, 2, 3]), caption: "c", audience: { type: "list", allow: ["v1"], deny: ["v2"] } }));
      await stores.status.post(status(poster, "a0", { expiresAt: now - 1 }));
      const live = await stores.status.live(poster, now);
      assert.deepEqual(live.map((s) => s.id), ["a2", "a1"]);
      const cipher = live[0]!;
      assert.equal(cipher.kind, "cipher");
      assert.deepEqual([...(cipher.body as Uint8Array)], [1, 2, 3]);
      assert.equal(cipher.caption, "c");
      assert.deepEqual(cipher.audience, { type: "list", allow: ["v1"], deny: ["v2"] });
      assert.equal((await stores.status.get(poster, "a1", now))?.body, "hello a1");
      assert.equal(await stores.status.get(poster, "a0", now), undefined, "an expired status is not read, swept or not");
      assert.deepEqual(await stores.status.live(freshPoster(), now), []);
    });

    it("records each viewer once, counts them and pages them in user order", async () => {
      const poster = freshPoster();
      const s = status(poster, "b1");
      await stores.status.post(s);
      assert.equal(await stores.status.view(poster, "b1", "v2", 10, s.expiresAt), true);
      assert.equal(await stores.status.view(poster, "b1", "v1", 20, s.expiresAt), true);
      assert.equal(await stores.status.view(poster, "b1", "v2", 30, s.expiresAt), false, "a second view is not a new viewer");
      const page = await stores.status.viewers(poster, "b1", undefined, 1);
      assert.deepEqual(page, { views: [{ user: "v1", ts: 20 }], count: 2 });
      assert.deepEqual(await stores.status.viewers(poster, "b1", "v1", 10), { views: [{ user: "v2", ts: 10 }], count: 2 });
      assert.deepEqual([...(await stores.status.seen(poster, ["b1", "zz"], "v1"))], ["b1"]);
      assert.deepEqual([...(await stores.status.seen(poster, ["b1"], "v3"))], []);
    });

    it("removes a status with its views, and the sweep finds only what expired", async () => {
      const poster = freshPoster();
      const now = Date.now();
      const gone = status(poster, "c1");
      await stores.status.post(gone);
      await stores.status.view(poster, "c1", "v1", 1, gone.expiresAt);
      await stores.status.remove(poster, "c1");
      await stores.status.remove(poster, "c1");
      assert.equal(await stores.status.get(poster, "c1", now), undefined);
      assert.deepEqual(await stores.status.viewers(poster, "c1", undefined, 10), { views: [], count: 0 });

      const media = { id: "0123456789abcdef0123456789abcdef", mime: "image/jpeg", size: 3, sha256: "00" };
      await stores.status.post(status(poster, "c2", { kind: "image", body: undefined, media, expiresAt: now - 1000 }));
      await stores.status.post(status(poster, "c3", { expiresAt: now + 60_000 }));
      const expired = (await stores.status.expired(now, 1000)).filter((e) => e.poster === poster);
      assert.deepEqual(expired, [{ poster, id: "c2", expiresAt: now - 1000, mediaId: media.id }]);
      await stores.status.remove(poster, "c2");
      assert.deepEqual((await stores.status.expired(now, 1000)).filter((e) => e.poster === poster), []);
      assert.equal((await stores.status.live(poster, now)).length, 1);
    });
  });
}
