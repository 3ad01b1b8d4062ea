import type { Database, RootDatabase } from "lmdb";
import type { UserSetStore } from "../contacts.ts";
import { StorageUnavailableError } from "../errors.ts";

const STRING_MAX = "\uffff";

/**
 * One owner's set of user ids as keys `[owner, user]` of a named database (contacts, blocks).
 * The owner's UserActor is the only writer, so reading the size and then writing cannot race;
 * the transaction keeps a bound check and its write together anyway.
 */
export class LmdbUserSetStore implements UserSetStore {
  private readonly db: Database<number, [string, string]>;

  constructor(
    private readonly root: RootDatabase,
    name: string,
  ) {
    this.db = root.openDB({ name });
  }

  async add(owner: string, users: readonly string[], max: number): Promise<{ added: boolean; size: number }> {
    try {
      return await this.root.transaction(() => {
        const size = this.size(owner);
        const fresh = [...new Set(users)].filter((user) => this.db.get([owner, user]) === undefined);
        if (size + fresh.length > max) return { added: false, size };
        const now = Date.now();
        for (const user of fresh) this.db.put([owner, user], now);
        return { added: true, size: size + fresh.length };
      });
    } catch (error) {
      throw new StorageUnavailableError("lmdb user set add failed", { cause: error });
    }
  }

  async remove(owner: string, users: readonly string[]): Promise<number> {
    try {
      return await this.root.transaction(() => {
        for (const user of users) this.db.remove([owner, user]);
        return this.size(owner);
      });
    } catch (error) {
      throw new StorageUnavailableError("lmdb user set remove failed", { cause: error });
    }
  }

  async list(owner: string): Promise<string[]> {
    return [...this.db.getKeys({ start: [owner, ""], end: [owner, STRING_MAX] })].map((key) => key[1]);
  }

  async has(owner: string, user: string): Promise<boolean> {
    return this.db.get([owner, user]) !== undefined;
  }

  async holders(owners: readonly string[], user: string): Promise<Set<string>> {
    return new Set(owners.filter((owner) => this.db.get([owner, user]) !== undefined));
  }

  private size(owner: string): number {
    return this.db.getKeysCount({ start: [owner, ""], end: [owner, STRING_MAX] });
  }
}
