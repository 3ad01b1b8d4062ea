import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { open, type Database, type RootDatabase } from "lmdb";
import type { Revocation, RevocationStore } from "../revocations.ts";
import { StorageUnavailableError } from "../errors.ts";

/** Device part of the key for a revocation of every device (device ids are never empty). */
const EVERY_DEVICE = "";
const VERSION_KEY = "version";

/**
 * Revocations of a node alone, in their own small LMDB environment under the data directory
 * (`<data>/revocations`), not in the message store: `router token revoke --data DIR` opens
 * it while the node runs (LMDB is safe across processes), and touches nothing else.
 */
export class LmdbRevocationStore implements RevocationStore {
  private readonly env: RootDatabase;
  private readonly revoked: Database<number, [string, string]>;
  private readonly meta: Database<number, string>;

  constructor(dataDir: string) {
    const path = join(dataDir, "revocations");
    mkdirSync(path, { recursive: true });
    this.env = open({ path, maxDbs: 4 });
    this.revoked = this.env.openDB({ name: "revoked" });
    this.meta = this.env.openDB({ name: "meta" });
  }

  async revoke(user: string, device: string | undefined, at: number): Promise<void> {
    const key: [string, string] = [user, device ?? EVERY_DEVICE];
    try {
      await this.env.transaction(() => {
        if ((this.revoked.get(key) ?? -Infinity) < at) this.revoked.put(key, at);
        this.meta.put(VERSION_KEY, (this.meta.get(VERSION_KEY) ?? 0) + 1);
      });
    } catch (error) {
      throw new StorageUnavailableError("lmdb revoke failed", { cause: error });
    }
  }

  async all(): Promise<Revocation[]> {
    const out: Revocation[] = [];
    for (const { key, value } of this.revoked.getRange()) {
      const [user, device] = key;
      out.push(device === EVERY_DEVICE ? { user, at: value } : { user, device, at: value });
    }
    return out;
  }

  async version(): Promise<number> {
    return this.meta.get(VERSION_KEY) ?? 0;
  }

  async close(): Promise<void> {
    await this.env.close();
  }
}
