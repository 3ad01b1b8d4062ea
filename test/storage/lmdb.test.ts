import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
