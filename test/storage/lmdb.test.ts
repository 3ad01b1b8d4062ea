import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { decode as decodeWithSecondLibrary } from "@msgpack/msgpack";
import { open } from "lmdb";
import { openLmdbStores } from "../../src/storage/lmdb/lmdb-stores.ts";
import { LmdbRevocationStore } from "../../src/storage/lmdb/revocation-store.ts";
import type { Stores } from "../../src/storage/stores.ts";
import { accountStoreContract } from "./accounts-contract.ts";
import { contactsStoreContract } from "./contacts-contract.ts";
import { extendedStoreContract, keyAndPushStoreContract, privacyStoreContract, storeContract } from "./contract.ts";
import { revocationContract } from "./revocation-contract.ts";

async function openTemporary(): Promise<Stores> {
  const dir = mkdtempSync(join(tmpdir(), "router-lmdb-"));
  const stores = openLmdbStores({ path: dir });
  return {
    ...stores,
    close: async () => {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

storeContract("lmdb", openTemporary);
extendedStoreContract("lmdb", openTemporary);
keyAndPushStoreContract("lmdb", openTemporary);

revocationContract("lmdb", async () => {
  const dir = mkdtempSync(join(tmpdir(), "router-revocations-"));
  const store = new LmdbRevocationStore(dir);
  return {
    revoke: (user, device, at) => store.revoke(user, device, at),
    all: () => store.all(),
    version: () => store.version(),
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
accountStoreContract("lmdb", openTemporary);
privacyStoreContract("lmdb", openTemporary);
contactsStoreContract("lmdb", openTemporary);

describe("lmdb: how values are encoded", () => {
  const message = (seq: number, cid: string) => ({ chat: "d:a:b", seq, from: "a", ts: 1_700_000_000_000 + seq, body: new Uint8Array([1, 2, 3]), kind: "text", cid });

  it("writes plain MessagePack maps, not msgpackr records, and still reads values written as records", async () => {
    const dir = mkdtempSync(join(tmpdir(), "router-lmdb-values-"));
    try {
      // A message as releases before this one stored it: lmdb-js's default record encoding.
      const legacy = open({ path: dir, maxDbs: 64 });
      await legacy.openDB({ name: "messages" }).put(["d:a:b", 1], { from: "a", ts: 1_700_000_000_001, body: new Uint8Array([9]), kind: "text", cid: "old" });
      await legacy.openDB({ name: "inbox" }).put(["b", "d:a:b"], 1);
      await legacy.close();

      const stores = openLmdbStores({ path: dir });
      await stores.messages.append({ chat: "d:a:b", messages: [message(2, "new")], notify: ["b"] });
      const read = await stores.messages.readAfter("d:a:b", 0, 10);
      await stores.close();
      assert.deepEqual(read.map((m) => [m.seq, m.cid, [...m.body as Uint8Array]]), [[1, "old", [9]], [2, "new", [1, 2, 3]]]);

      const raw = open({ path: dir, maxDbs: 64 });
      const bytes = raw.openDB({ name: "messages", encoding: "binary" }).getBinary(["d:a:b", 2]);
      await raw.close();
      assert.ok(bytes);
      // A second MessagePack implementation reads it as a map: no extension type inside.
      const decoded = decodeWithSecondLibrary(bytes) as Record<string, unknown>;
      assert.equal(decoded.cid, "new");
      assert.equal(decoded.from, "a");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
