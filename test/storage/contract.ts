import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { randomBytes } from "node:crypto";
import { DEFAULT_PRIVACY } from "../../src/storage/privacy.ts";
import type { ClaimedBundle, DeviceKeys, KeyStore, OneTimeKey } from "../../src/storage/keys.ts";
import type { StoredMessage } from "../../src/storage/messages.ts";
import type { Stores } from "../../src/storage/stores.ts";

let counter = 0;
/** A chat id no other test in this run uses, so implementations can share one database. */
function freshChat(): string {
  counter += 1;
  return `d:a${process.pid}x${counter}:b${Date.now()}`;
}

function message(chat: string, seq: number, overrides: Partial<StoredMessage> = {}): StoredMessage {
  return { chat, seq, from: "alice", ts: 1_700_000_000_000 + seq, body: `m${seq}`, kind: "text", cid: `c${seq}`, ...overrides };
}

async function appendRange(stores: Stores, chat: string, from: number, to: number, notify: string[] = []): Promise<void> {
  const messages: StoredMessage[] = [];
  for (let seq = from; seq <= to; seq += 1) messages.push(message(chat, seq));
  await stores.messages.append({ chat, messages, notify });
}

/**
 * The behaviour every Stores implementation owes the actors. Run against each backend with a
 * factory; a failure here is a backend bug, whatever the actor tests say.
 */
export function storeContract(name: string, open: () => Promise<Stores>): void {
  describe(`${name} store contract`, () => {
    let stores: Stores;
    before(async () => {
      stores = await open();
    });
    after(async () => {
      await stores.close();
    });

    it("starts a chat at seq 0 and tracks the last appended seq", async () => {
      const chat = freshChat();
      assert.equal(await stores.messages.lastSeq(chat), 0);
      await appendRange(stores, chat, 1, 3);
      assert.equal(await stores.messages.lastSeq(chat), 3);
      await appendRange(stores, chat, 4, 4);
      assert.equal(await stores.messages.lastSeq(chat), 4);
    });

    it("round-trips every message field, bytes and text bodies alike", async () => {
      const chat = freshChat();
      const bytes = new Uint8Array([0, 1, 2, 255]);
      await stores.messages.append({
        chat,
        messages: [message(chat, 1, { body: bytes, kind: "cipher" }), message(chat, 2, { reply: 1, from: "bob", cid: "x" })],
        notify: [],
      });
      const [first, second] = await stores.messages.readAfter(chat, 0, 10);
      assert.ok(first && second);
      assert.deepEqual(new Uint8Array(first.body as Uint8Array), bytes);
      assert.equal(first.kind, "cipher");
      assert.equal(first.reply, undefined);
      assert.deepEqual(
        { chat: second.chat, seq: second.seq, from: second.from, ts: second.ts, body: second.body, kind: second.kind, reply: second.reply, cid: second.cid },
        message(chat, 2, { reply: 1, from: "bob", cid: "x" }),
      );
    });

    it("reads after a seq in ascending order, with a limit, across many messages", async () => {
      const chat = freshChat();
      await appendRange(stores, chat, 1, 1200);
      await appendRange(stores, chat, 1201, 2500);
      const page = await stores.messages.readAfter(chat, 990, 30);
      assert.deepEqual(page.map((m) => m.seq), Array.from({ length: 30 }, (_, i) => 991 + i));
      const tail = await stores.messages.readAfter(chat, 2490, 100);
      assert.deepEqual(tail.map((m) => m.seq), Array.from({ length: 10 }, (_, i) => 2491 + i));
      assert.deepEqual(await stores.messages.readAfter(chat, 2500, 10), []);
    });

    it("reads the latest messages below a seq, returned ascending", async () => {
      const chat = freshChat();
      await appendRange(stores, chat, 1, 2100);
      const page = await stores.messages.readBefore(chat, 2005, 10);
      assert.deepEqual(page.map((m) => m.seq), Array.from({ length: 10 }, (_, i) => 1995 + i));
      const acrossBoundary = await stores.messages.readBefore(chat, 1003, 6);
      assert.deepEqual(acrossBoundary.map((m) => m.seq), [997, 998, 999, 1000, 1001, 1002]);
      const head = await stores.messages.readBefore(chat, 4, 50);
      assert.deepEqual(head.map((m) => m.seq), [1, 2, 3]);
      assert.deepEqual(await stores.messages.readBefore(chat, 1, 50), []);
      const latest = await stores.messages.readBefore(chat, Number.MAX_SAFE_INTEGER, 3);
      assert.deepEqual(latest.map((m) => m.seq), [2098, 2099, 2100]);
    });

    it("keeps chats apart", async () => {
      const one = freshChat();
      const two = freshChat();
      await appendRange(stores, one, 1, 3);
      await appendRange(stores, two, 1, 1);
      assert.equal((await stores.messages.readAfter(one, 0, 10)).length, 3);
      assert.equal((await stores.messages.readAfter(two, 0, 10)).length, 1);
    });

    it("finds the first answer of an idempotency key", async () => {
      const chat = freshChat();
      await stores.messages.append({ chat, messages: [message(chat, 1, { cid: "k1", ts: 42 })], notify: [] });
      assert.deepEqual(await stores.messages.findByCid(chat, "alice", "k1"), { seq: 1, ts: 42 });
      assert.equal(await stores.messages.findByCid(chat, "bob", "k1"), undefined);
      assert.equal(await stores.messages.findByCid(chat, "alice", "k2"), undefined);
    });

    it("notifies inboxes with the batch's last seq", async () => {
      const chat = freshChat();
      const user = `u${process.pid}x${Date.now()}`;
      await appendRange(stores, chat, 1, 5, [user, "someone"]);
      assert.deepEqual(await stores.messages.inbox(user), [{ chat, seq: 5 }]);
      const other = freshChat();
      await appendRange(stores, other, 1, 2, [user]);
      const inbox = await stores.messages.inbox(user);
      assert.deepEqual(
        inbox.sort((a, b) => a.chat.localeCompare(b.chat)),
        [{ chat, seq: 5 }, { chat: other, seq: 2 }].sort((a, b) => a.chat.localeCompare(b.chat)),
      );
    });

    it("keeps device cursors per user and device", async () => {
      const user = `u${process.pid}c${Date.now()}`;
      await stores.cursors.setCursor(user, "phone", "d:a:b", 3);
      await stores.cursors.setCursor(user, "phone", "d:a:c", 1);
      await stores.cursors.setCursor(user, "laptop", "d:a:b", 7);
      await stores.cursors.setCursor(user, "phone", "d:a:b", 4);
      assert.deepEqual(await stores.cursors.cursors(user, "phone"), new Map([["d:a:b", 4], ["d:a:c", 1]]));
      assert.deepEqual(await stores.cursors.cursors(user, "laptop"), new Map([["d:a:b", 7]]));
      assert.deepEqual(await stores.cursors.cursors(user, "tablet"), new Map());
    });

    it("keeps delivered and read marks per chat member", async () => {
      const chat = freshChat();
      await stores.receipts.setMarks(chat, "alice", { delivered: 3, read: 1 });
      await stores.receipts.setMarks(chat, "bob", { delivered: 2, read: 2 });
      await stores.receipts.setMarks(chat, "alice", { delivered: 5, read: 4 });
      assert.deepEqual(
        await stores.receipts.marks(chat),
        new Map([["alice", { delivered: 5, read: 4 }], ["bob", { delivered: 2, read: 2 }]]),
      );
      assert.deepEqual(await stores.receipts.marks(freshChat()), new Map());
    });

    it("writes many cursors and marks at once, where the backend offers it", async () => {
      const user = `u${process.pid}m${Date.now()}`;
      const chat = freshChat();
      assert.ok(stores.cursors.setCursors && stores.receipts.setManyMarks, "every backend here writes a window in one call");
      await stores.cursors.setCursors([
        { user, device: "phone", chat, seq: 2 },
        { user, device: "phone", chat: "d:a:z", seq: 9 },
        { user, device: "laptop", chat, seq: 1 },
      ]);
      await stores.receipts.setManyMarks([
        { chat, user: "alice", marks: { delivered: 2, read: 1 } },
        { chat, user: "bob", marks: { delivered: 1, read: 0 } },
      ]);
      assert.deepEqual(await stores.cursors.cursors(user, "phone"), new Map([[chat, 2], ["d:a:z", 9]]));
      assert.deepEqual(await stores.cursors.cursors(user, "laptop"), new Map([[chat, 1]]));
      assert.deepEqual(await stores.receipts.marks(chat), new Map([["alice", { delivered: 2, read: 1 }], ["bob", { delivered: 1, read: 0 }]]));
    });
  });
}

/** Edits, deletes, reactions, groups and last seen: the parts of the contract issue 3 added. */
export function extendedStoreContract(name: string, open: () => Promise<Stores>): void {
  describe(`${name} store contract: message state, groups, last seen`, () => {
    let stores: Stores;
    before(async () => {
      stores = await open();
    });
    after(async () => {
      await stores.close();
    });

    it("applies patches atomically with a batch and round-trips event fields", async () => {
      const chat = freshChat();
      await appendRange(stores, chat, 1, 2);
      await stores.messages.append({
        chat,
        messages: [message(chat, 3, { kind: "edit", target: 1, body: "" }), message(chat, 4, { kind: "react", target: 2, emoji: "👍", body: "" })],
        notify: [],
        patches: [
          { seq: 1, body: "edited", edited: 99 },
          { seq: 2, reactions: { bob: "👍" } },
        ],
      });
      const [one, two, three, four] = await stores.messages.readAfter(chat, 0, 10);
      assert.equal(one?.body, "edited");
      assert.equal(one?.edited, 99);
      assert.equal(one?.cid, "c1");
      assert.deepEqual(two?.reactions, { bob: "👍" });
      assert.equal(three?.target, 1);
      assert.equal(three?.kind, "edit");
      assert.equal(four?.emoji, "👍");
      await stores.messages.append({ chat, messages: [message(chat, 5, { kind: "delete", target: 1, body: "" })], notify: [], patches: [{ seq: 1, body: "", deleted: true }] });
      const [deleted] = await stores.messages.readAfter(chat, 0, 1);
      assert.equal(deleted?.deleted, true);
      assert.equal(deleted?.body, "");
      assert.equal(await stores.messages.lastSeq(chat), 5);
    });

    it("keeps groups and each user's groups in step with membership", async () => {
      const chat = `g:${process.pid}x${Date.now()}`;
      const alice = `ga${process.pid}${Date.now()}`;
      const bob = `gb${process.pid}${Date.now()}`;
      const group = { chat, name: "friends", members: [alice, bob], admins: [alice], createdBy: alice, createdAt: 1, joined: { [alice]: 1, [bob]: 1 } };
      await stores.groups.put(group, []);
      assert.deepEqual(await stores.groups.get(chat), group);
      assert.deepEqual(await stores.groups.groupsOf(bob), [chat]);
      await stores.groups.put({ ...group, members: [alice] }, [alice, bob]);
      assert.deepEqual(await stores.groups.groupsOf(bob), []);
      assert.deepEqual(await stores.groups.groupsOf(alice), [chat]);
      assert.equal(await stores.groups.get(`g:missing${Date.now()}`), undefined);
    });

    it("round-trips the media a message references, with and without a thumbnail", async () => {
      const chat = freshChat();
      const photo = { id: "0123456789abcdef0123456789abcdef", mime: "image/jpeg", size: 5_000_000_000, sha256: "ab".repeat(32), thumb: new Uint8Array([0, 1, 255]) };
      const file = { id: "fedcba9876543210fedcba9876543210", mime: "application/pdf", size: 0, sha256: "cd".repeat(32) };
      await stores.messages.append({
        chat,
        messages: [
          message(chat, 1, { kind: "media", body: "caption", media: photo }),
          message(chat, 2, { kind: "media", body: new Uint8Array([9]), media: file }),
          message(chat, 3),
        ],
        notify: [],
      });
      const [one, two, three] = await stores.messages.readAfter(chat, 0, 10);
      assert.deepEqual({ ...one?.media, thumb: [...(one?.media?.thumb ?? [])] }, { ...photo, thumb: [0, 1, 255] });
      assert.equal(one?.body, "caption");
      assert.deepEqual(two?.media, file);
      assert.equal(three?.media, undefined);
      assert.deepEqual((await stores.messages.readBefore(chat, 2, 1))[0]?.media?.id, photo.id);
    });

    it("remembers when users were last seen", async () => {
      const user = `ls${process.pid}${Date.now()}`;
      await stores.presence.setLastSeen(user, 1234);
      await stores.presence.setLastSeen(user, 5678);
      assert.deepEqual(await stores.presence.lastSeen([user, `${user}-never`]), new Map([[user, 5678]]));
    });
  });
}

function keyBytes(): Uint8Array {
  return new Uint8Array([5, ...randomBytes(32)]);
}

function publishedKeys(overrides: Partial<DeviceKeys> = {}): DeviceKeys {
  return { identity: keyBytes(), signed: { id: 1, key: keyBytes(), sig: new Uint8Array(randomBytes(64)) }, ...overrides };
}

function prekeys(from: number, count: number): OneTimeKey[] {
  return Array.from({ length: count }, (_, i) => ({ id: from + i, key: keyBytes() }));
}

function ids(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

const LIMITS = { maxPrekeys: 1000, lowWater: 10 };

let users = 0;
function freshUser(tag: string): string {
  users += 1;
  return `${tag}${process.pid}x${users}x${Date.now()}`;
}

/** Claims one device until it has no one-time prekey left; the ids handed out, in order. */
async function drain(keys: KeyStore, user: string, device: string): Promise<number[]> {
  const claimed: number[] = [];
  for (;;) {
    const [bundle] = await keys.claim(user, device, LIMITS);
    if (!bundle?.prekey) return claimed;
    claimed.push(bundle.prekey.id);
  }
}

function claimedIds(results: ClaimedBundle[][]): number[] {
  return results.flatMap((bundles) => bundles.flatMap((bundle) => (bundle.prekey ? [bundle.prekey.id] : [])));
}

/**
 * The prekey service's store and push registrations. Both are optional in Stores; a backend
 * run through this contract must have them.
 */
export function keyAndPushStoreContract(name: string, open: () => Promise<Stores>): void {
  describe(`${name} store contract: prekeys`, () => {
    let stores: Stores;
    let keys: KeyStore;
    before(async () => {
      stores = await open();
      assert.ok(stores.keys, `${name} has a key store`);
      keys = stores.keys;
    });
    after(async () => {
      await stores.close();
    });

    it("hands out one bundle per device, each with its lowest prekey, and counts what is left", async () => {
      const user = freshUser("k");
      const phone = publishedKeys({ kyber: { id: 3, key: new Uint8Array(randomBytes(1569)), sig: new Uint8Array(randomBytes(64)) }, reg: 4242 });
      const phonePrekeys = prekeys(1, 30);
      assert.deepEqual(await keys.put(user, "phone", phone, phonePrekeys, LIMITS), { count: 30 });
      assert.deepEqual(await keys.put(user, "laptop", publishedKeys(), prekeys(100, 20), LIMITS), { count: 20 });

      const bundles = await keys.claim(user, undefined, LIMITS);
      assert.deepEqual(bundles.map((b) => b.device).sort(), ["laptop", "phone"]);
      const bundle = bundles.find((b) => b.device === "phone");
      assert.ok(bundle);
      assert.deepEqual(new Uint8Array(bundle.identity), phone.identity);
      assert.deepEqual({ ...bundle.signed, key: new Uint8Array(bundle.signed.key), sig: new Uint8Array(bundle.signed.sig) }, phone.signed);
      assert.equal(bundle.kyber?.id, 3);
      assert.deepEqual(new Uint8Array(bundle.kyber?.key ?? []), phone.kyber?.key);
      assert.deepEqual(new Uint8Array(bundle.kyber?.sig ?? []), phone.kyber?.sig);
      assert.equal(bundle.reg, 4242);
      assert.equal(bundle.prekey?.id, 1);
      assert.deepEqual(new Uint8Array(bundle.prekey?.key ?? []), phonePrekeys[0]?.key);
      assert.equal(bundle.remaining, 29);
      assert.equal(bundle.low, false);

      const [laptop, ...more] = await keys.claim(user, "laptop", LIMITS);
      assert.deepEqual(more, []);
      assert.ok(laptop);
      assert.equal(laptop.prekey?.id, 101);
      assert.equal(laptop.remaining, 18);
      assert.equal(laptop.kyber, undefined);
      assert.equal(laptop.reg, undefined);
      assert.deepEqual(await keys.claim(user, "tablet", LIMITS), []);
      assert.deepEqual(await keys.claim(freshUser("nobody"), undefined, LIMITS), []);

      // Without a one-time prekey: the bundles alone, and nothing is taken.
      const bare = await keys.claim(user, undefined, { ...LIMITS, oneTime: false });
      assert.deepEqual(bare.map((b) => [b.device, b.prekey]).sort(), [["laptop", undefined], ["phone", undefined]]);
      assert.ok(bare.every((b) => b.signed.key.byteLength > 0));
      assert.equal((await keys.claim(user, "laptop", LIMITS))[0]?.prekey?.id, 102);
      assert.deepEqual(await keys.claim(user, "tablet", { ...LIMITS, oneTime: false }), []);
    });

    it("deletes every device's keys of a deleted user, and only theirs", async () => {
      const user = freshUser("kd");
      const other = freshUser("ko");
      await keys.put(user, "phone", publishedKeys(), prekeys(1, 5), LIMITS);
      await keys.put(user, "laptop", publishedKeys(), prekeys(1, 5), LIMITS);
      await keys.put(other, "phone", publishedKeys(), prekeys(1, 5), LIMITS);
      await keys.deleteUser(user);
      await keys.deleteUser(user);
      assert.deepEqual(await keys.claim(user, undefined, LIMITS), []);
      assert.deepEqual((await keys.claim(other, undefined, LIMITS)).map((b) => [b.device, b.prekey?.id]), [["phone", 1]]);
      // The user's devices may publish again (a user id is never reused, but the store does not care).
      assert.deepEqual(await keys.put(user, "phone", publishedKeys(), prekeys(7, 1), LIMITS), { count: 1 });
      assert.equal((await keys.claim(user, "phone", LIMITS))[0]?.prekey?.id, 7);
    });

    it("replaces a prekey id it holds rather than adding one, and refuses a put over the limit", async () => {
      const user = freshUser("r");
      const published = publishedKeys();
      await keys.put(user, "a", published, prekeys(1, 5), LIMITS);
      const replacement = { id: 1, key: keyBytes() };
      assert.deepEqual(await keys.put(user, "a", published, [replacement, { id: 6, key: keyBytes() }], LIMITS), { count: 6 });
      const [first] = await keys.claim(user, "a", LIMITS);
      assert.deepEqual(new Uint8Array(first?.prekey?.key ?? []), replacement.key);

      const small = { maxPrekeys: 8, lowWater: 2 };
      assert.deepEqual(await keys.put(user, "a", published, prekeys(10, 4), small), { count: 5, refused: "limit" });
      // Replacing held ids adds nothing, so it is allowed at the limit.
      assert.deepEqual(await keys.put(user, "a", published, prekeys(2, 3), small), { count: 5 });
      assert.deepEqual(await drain(keys, user, "a"), [2, 3, 4, 5, 6]);
    });

    it("claims a prekey added below the ones already claimed next", async () => {
      const user = freshUser("b");
      const published = publishedKeys();
      await keys.put(user, "a", published, prekeys(100, 3), LIMITS);
      assert.equal((await keys.claim(user, "a", LIMITS))[0]?.prekey?.id, 100);
      await keys.put(user, "a", published, prekeys(7, 2), LIMITS);
      assert.deepEqual(await drain(keys, user, "a"), [7, 8, 101, 102]);
    });

    it("drops a device's prekeys and its kyber key when it publishes a new identity", async () => {
      const user = freshUser("i");
      const old = publishedKeys({ kyber: { id: 1, key: keyBytes(), sig: keyBytes() }, reg: 1 });
      await keys.put(user, "a", old, prekeys(1, 20), LIMITS);
      const fresh = publishedKeys();
      assert.deepEqual(await keys.put(user, "a", fresh, prekeys(500, 3), LIMITS), { count: 3 });
      const [bundle] = await keys.claim(user, "a", LIMITS);
      assert.deepEqual(new Uint8Array(bundle?.identity ?? []), fresh.identity);
      assert.equal(bundle?.prekey?.id, 500);
      assert.equal(bundle?.kyber, undefined);
      assert.equal(bundle?.reg, undefined);
      assert.deepEqual(await drain(keys, user, "a"), [501, 502]);
    });

    it("keeps serving the signed prekey once the one-time prekeys run out", async () => {
      const user = freshUser("e");
      const published = publishedKeys();
      await keys.put(user, "a", published, [], LIMITS);
      const [bundle] = await keys.claim(user, "a", LIMITS);
      assert.equal(bundle?.prekey, undefined);
      assert.equal(bundle?.remaining, 0);
      assert.equal(bundle?.signed.id, 1);
    });

    it("flags a device low once per drop below the low-water mark, and again after a refill", async () => {
      const user = freshUser("l");
      const published = publishedKeys();
      await keys.put(user, "a", published, prekeys(1, 12), LIMITS);
      const flags: Array<[number, boolean]> = [];
      for (let i = 0; i < 5; i += 1) {
        const [bundle] = await keys.claim(user, "a", LIMITS);
        flags.push([bundle?.remaining ?? -1, bundle?.low ?? false]);
      }
      assert.deepEqual(flags, [[11, false], [10, false], [9, true], [8, false], [7, false]]);
      // Still below the mark after this put: no new warning.
      assert.deepEqual(await keys.put(user, "a", published, prekeys(20, 1), LIMITS), { count: 8 });
      assert.equal((await keys.claim(user, "a", LIMITS))[0]?.low, false);
      // Back over it: the next drop warns again.
      assert.deepEqual(await keys.put(user, "a", published, prekeys(30, 5), LIMITS), { count: 12 });
      const after = [];
      for (let i = 0; i < 3; i += 1) after.push((await keys.claim(user, "a", LIMITS))[0]?.low);
      assert.deepEqual(after, [false, false, true]);
      // A device that never held enough is flagged on its first claim, even with none to give.
      await keys.put(user, "few", publishedKeys(), [], LIMITS);
      const [few] = await keys.claim(user, "few", LIMITS);
      assert.deepEqual([few?.prekey, few?.remaining, few?.low], [undefined, 0, true]);
      assert.equal((await keys.claim(user, "few", LIMITS))[0]?.low, false);
    });

    it("never hands one prekey to two of 300 claims racing two puts of the same device", async () => {
      const user = freshUser("c");
      const published = publishedKeys();
      await keys.put(user, "a", published, prekeys(1, 100), LIMITS);
      const claims = Array.from({ length: 300 }, () => keys.claim(user, undefined, LIMITS));
      const puts = [101, 201].map((from) => keys.put(user, "a", published, prekeys(from, 100), LIMITS));
      const handedOut = claimedIds(await Promise.all(claims));
      await Promise.all(puts);
      assert.equal(new Set(handedOut).size, handedOut.length, "no prekey handed out twice");
      const rest = await drain(keys, user, "a");
      assert.deepEqual([...handedOut, ...rest].sort((a, b) => a - b), ids(1, 300), "none lost");
    });
  });

  describe(`${name} store contract: push registrations`, () => {
    let stores: Stores;
    before(async () => {
      stores = await open();
      assert.ok(stores.push, `${name} has a push registration store`);
    });
    after(async () => {
      await stores.close();
    });

    it("keeps one registration per device, replaced by the next and removed by unregister", async () => {
      const push = stores.push!;
      const user = freshUser("p");
      const other = freshUser("q");
      await push.register({ user, device: "phone", platform: "apns", token: "t1", updatedAt: 1 });
      await push.register({ user, device: "tablet", platform: "fcm", token: "t2", updatedAt: 2 });
      await push.register({ user: other, device: "phone", platform: "webhook", token: "t3", updatedAt: 3 });
      await push.register({ user, device: "phone", platform: "fcm", token: "t4", updatedAt: 4 });
      const byDevice = (list: Awaited<ReturnType<typeof push.registrations>>) => [...list].sort((a, b) => a.device.localeCompare(b.device));
      assert.deepEqual(byDevice(await push.registrations(user)), [
        { user, device: "phone", platform: "fcm", token: "t4", updatedAt: 4 },
        { user, device: "tablet", platform: "fcm", token: "t2", updatedAt: 2 },
      ]);
      await push.unregister(user, "tablet");
      await push.unregister(user, "never-registered");
      assert.deepEqual(await push.registrations(user), [{ user, device: "phone", platform: "fcm", token: "t4", updatedAt: 4 }]);
      assert.deepEqual(await push.registrations(other), [{ user: other, device: "phone", platform: "webhook", token: "t3", updatedAt: 3 }]);
      assert.deepEqual(await push.registrations(freshUser("none")), []);
    });

    it("removes a registration by token only while it still holds that token", async () => {
      const push = stores.push!;
      const user = freshUser("t");
      await push.register({ user, device: "phone", platform: "apns", token: "old", updatedAt: 1 });
      await push.register({ user, device: "phone", platform: "apns", token: "new", updatedAt: 2 });
      assert.equal(await push.removeIfToken(user, "phone", "old"), false);
      assert.equal((await push.registrations(user))[0]?.token, "new");
      assert.equal(await push.removeIfToken(user, "phone", "new"), true);
      assert.deepEqual(await push.registrations(user), []);
      assert.equal(await push.removeIfToken(user, "phone", "new"), false);
      await push.register({ user, device: "phone", platform: "apns", token: "again", updatedAt: 3 });
      assert.equal((await push.registrations(user))[0]?.token, "again");
    });

    it("keeps mutes per chat and quiet hours per user, each cleared on its own", async () => {
      const push = stores.push!;
      const user = freshUser("m");
      assert.deepEqual(await push.settings(user), { mutes: new Map(), dnd: undefined });
      const hour = Date.now() + 3600_000;
      const forever = Date.now() + 50 * 365 * 24 * 3600_000;
      await push.setMute(user, "d:a:b", hour);
      await push.setMute(user, "g:x", forever);
      await push.setDnd(user, { start: 1320, end: 420, tz: "Europe/Berlin" });
      assert.deepEqual(await push.settings(user), { mutes: new Map([["d:a:b", hour], ["g:x", forever]]), dnd: { start: 1320, end: 420, tz: "Europe/Berlin" } });
      await push.setMute(user, "d:a:b", 0);
      await push.setMute(user, "g:x", Date.now() - 1000);
      await push.setDnd(user, { start: 60, end: 120 });
      assert.deepEqual(await push.settings(user), { mutes: new Map(), dnd: { start: 60, end: 120 } });
      await push.setMute(user, "d:a:b", hour);
      await push.setDnd(user, undefined);
      assert.deepEqual(await push.settings(user), { mutes: new Map([["d:a:b", hour]]), dnd: undefined });
      assert.deepEqual(await push.settings(freshUser("other")), { mutes: new Map(), dnd: undefined });
    });
  });
}

/** Privacy settings and group invitations (src/storage/privacy.ts). */
export function privacyStoreContract(name: string, open: () => Promise<Stores>): void {
  describe(`${name} store contract: privacy settings and group invitations`, () => {
    let stores: Stores;
    before(async () => {
      stores = await open();
    });
    after(async () => {
      await stores.close();
    });

    it("gives the defaults to a user who never chose, and keeps what was set", async () => {
      const user = freshUser("p");
      const other = freshUser("q");
      assert.deepEqual(await stores.privacy.settings(user), DEFAULT_PRIVACY);
      await stores.privacy.setSettings(user, { lastSeen: "nobody", online: "everyone", groups: "nobody", profile: "nobody" });
      assert.deepEqual(await stores.privacy.settings(user), { lastSeen: "nobody", online: "everyone", groups: "nobody", profile: "nobody" });
      assert.deepEqual(
        await stores.privacy.settingsOf([user, other]),
        new Map([
          [user, { lastSeen: "nobody", online: "everyone", groups: "nobody", profile: "nobody" }],
          [other, DEFAULT_PRIVACY],
        ]),
      );
      await stores.privacy.setSettings(user, { lastSeen: "everyone", online: "nobody", groups: "everyone", profile: "everyone" });
      assert.deepEqual(await stores.privacy.settings(user), { lastSeen: "everyone", online: "nobody", groups: "everyone", profile: "everyone" });
    });

    it("keeps profiles field by field: set, change one, clear one, delete", async () => {
      const profiles = stores.profiles;
      assert.ok(profiles, "this backend keeps profiles");
      const user = freshUser("pr");
      assert.deepEqual(await profiles.profile(user), {});
      assert.deepEqual(await profiles.update(user, { name: "Ada", about: "hi" }), { name: "Ada", about: "hi" });
      assert.deepEqual(await profiles.update(user, { photo: "0".repeat(32), about: "" }), { name: "Ada", photo: "0".repeat(32) });
      assert.deepEqual(await profiles.profile(user), { name: "Ada", photo: "0".repeat(32) });
      await profiles.deleteProfile(user);
      assert.deepEqual(await profiles.profile(user), {});
    });

    it("keeps invitations until taken or expired, at most the pending bound, dropping the oldest", async () => {
      const invites = stores.invites;
      const user = freshUser("i");
      const now = Date.now();
      const invite = (chat: string, createdAt: number, ttl = 3600_000) => ({
        chat,
        by: "alice",
        name: `group ${chat}`,
        invite: `tok-${chat}`,
        createdAt,
        expiresAt: createdAt + ttl,
      });
      assert.deepEqual(await invites.invites(user, now), []);
      await invites.putInvite(user, invite("g:aaaaaaaa", now - 3), 3);
      await invites.putInvite(user, invite("g:bbbbbbbb", now - 2), 3);
      await invites.putInvite(user, invite("g:cccccccc", now - 1), 3);
      assert.deepEqual(await invites.invite(user, "g:bbbbbbbb", now), invite("g:bbbbbbbb", now - 2));
      // A fourth: the oldest goes.
      await invites.putInvite(user, invite("g:dddddddd", now), 3);
      assert.deepEqual((await invites.invites(user, now)).map((i) => i.chat), ["g:bbbbbbbb", "g:cccccccc", "g:dddddddd"]);
      // Inviting again to the same group replaces that invitation and drops nothing else.
      await invites.putInvite(user, { ...invite("g:bbbbbbbb", now + 1), invite: "tok-new" }, 3);
      assert.deepEqual((await invites.invites(user, now)).map((i) => [i.chat, i.invite]), [
        ["g:cccccccc", "tok-g:cccccccc"],
        ["g:dddddddd", "tok-g:dddddddd"],
        ["g:bbbbbbbb", "tok-new"],
      ]);
      await invites.deleteInvite(user, "g:cccccccc");
      assert.equal(await invites.invite(user, "g:cccccccc", now), undefined);
      // Expired ones are not handed out (read at a later `now`).
      const later = now + 2 * 3600_000;
      assert.equal(await invites.invite(user, "g:dddddddd", later), undefined);
      assert.deepEqual(await invites.invites(user, later), []);
      assert.deepEqual(await invites.invites(freshUser("o"), now), []);
    });
  });
}
