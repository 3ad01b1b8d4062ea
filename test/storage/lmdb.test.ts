import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openLmdbStores } from "../../src/storage/lmdb/lmdb-stores.ts";
import type { Stores } from "../../src/storage/types.ts";
import { extendedStoreContract, keyAndPushStoreContract, privacyStoreContract, storeContract } from "./contract.ts";

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
privacyStoreContract("lmdb", openTemporary);
