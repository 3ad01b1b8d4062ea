import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RevocationStore } from "../../src/storage/revocations.ts";

/** What every RevocationStore owes the nodes polling it; each run opens a fresh store. */
export function revocationContract(name: string, open: () => Promise<RevocationStore>): void {
  describe(`${name} revocation store contract`, () => {
    let store: RevocationStore;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store.close();
    });

    it("starts empty, and keeps a user's and a device's revocations apart", async () => {
      assert.deepEqual(await store.all(), []);
      const start = await store.version();
      await store.revoke("ann", undefined, 1_000);
      await store.revoke("ann", "phone", 2_000);
      await store.revoke("bob", "tab.1", 3_000);
      const byTime = (await store.all()).sort((a, b) => a.at - b.at);
      assert.deepEqual(byTime, [
        { user: "ann", at: 1_000 },
        { user: "ann", device: "phone", at: 2_000 },
        { user: "bob", device: "tab.1", at: 3_000 },
      ]);
      assert.ok((await store.version()) > start);
    });

    it("moves a revocation later, never back, and changes the version on every write", async () => {
      await store.revoke("cat", undefined, 5_000);
      const v1 = await store.version();
      await store.revoke("cat", undefined, 4_000);
      const v2 = await store.version();
      assert.notEqual(v2, v1);
      assert.deepEqual((await store.all()).filter((r) => r.user === "cat"), [{ user: "cat", at: 5_000 }]);
      await store.revoke("cat", undefined, 6_000);
      assert.notEqual(await store.version(), v2);
      assert.deepEqual((await store.all()).filter((r) => r.user === "cat"), [{ user: "cat", at: 6_000 }]);
    });
  });
}
