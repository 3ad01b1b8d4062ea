import type { Database, RootDatabase } from "lmdb";
import { compactProfile, type Profile, type ProfileChanges, type ProfileStore } from "../profiles.ts";
import { StorageUnavailableError } from "../errors.ts";

/** Profiles in the node's LMDB environment; an update is one transaction (fsynced). */
export class LmdbProfileStore implements ProfileStore {
  private readonly db: Database<Profile, string>;

  constructor(private readonly root: RootDatabase) {
    this.db = root.openDB({ name: "profiles" });
  }

  async profile(user: string): Promise<Profile> {
    return compactProfile(this.db.get(user) ?? {});
  }

  async update(user: string, changes: ProfileChanges): Promise<Profile> {
    try {
      return await this.root.transaction(() => {
        const next = compactProfile({ ...this.db.get(user), ...changes });
        void this.db.put(user, next);
        return next;
      });
    } catch (error) {
      throw new StorageUnavailableError("lmdb profile.update failed", { cause: error });
    }
  }

  async deleteProfile(user: string): Promise<void> {
    try {
      await this.db.remove(user);
    } catch (error) {
      throw new StorageUnavailableError("lmdb profile.delete failed", { cause: error });
    }
  }
}
