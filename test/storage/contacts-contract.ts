import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Stores } from "../../src/storage/stores.ts";

const fresh = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** Contact lists and block lists (src/storage/contacts.ts): the same set store, twice. */
export function contactsStoreContract(name: string, open: () => Promise<Stores>): void {
  for (const which of ["contacts", "blocks"] as const) {
    describe(`${name} store contract: ${which}`, () => {
      let stores: Stores;
      before(async () => {
        stores = await open();
      });
      after(async () => {
        await stores.close();
      });

      it("adds, lists sorted, counts each user once, and removes", async () => {
        const owner = fresh("own");
        const set = stores[which];
        assert.deepEqual(await set.list(owner), []);
        assert.deepEqual(await set.add(owner, ["cat", "ann", "bob", "ann"], 10), { added: true, size: 3 });
        assert.deepEqual(await set.add(owner, ["bob", "dan"], 10), { added: true, size: 4 });
        assert.deepEqual(await set.list(owner), ["ann", "bob", "cat", "dan"]);
        assert.equal(await set.has(owner, "bob"), true);
        assert.equal(await set.has(owner, "eve"), false);
        assert.equal(await set.remove(owner, ["bob", "nobody"]), 3);
        assert.deepEqual(await set.list(owner), ["ann", "cat", "dan"]);
        assert.equal(await set.has(owner, "bob"), false);
      });

      it("adds nothing when the set would pass its bound", async () => {
        const owner = fresh("full");
        const set = stores[which];
        assert.deepEqual(await set.add(owner, ["a", "b"], 3), { added: true, size: 2 });
        assert.deepEqual(await set.add(owner, ["c", "d"], 3), { added: false, size: 2 });
        assert.deepEqual(await set.list(owner), ["a", "b"]);
        // Users already held do not count again.
        assert.deepEqual(await set.add(owner, ["a", "b", "c"], 3), { added: true, size: 3 });
      });

      it("finds which owners hold a user, keeping owners apart", async () => {
        const [one, two, three] = [fresh("o1"), fresh("o2"), fresh("o3")];
        const set = stores[which];
        await set.add(one, ["x"], 10);
        await set.add(two, ["y"], 10);
        await set.add(three, ["x", "y"], 10);
        assert.deepEqual([...(await set.holders([one, two, three], "x"))].sort(), [one, three].sort());
        assert.deepEqual([...(await set.holders([two], "x"))], []);
        assert.deepEqual(await set.list(two), ["y"]);
      });
    });
  }
}
