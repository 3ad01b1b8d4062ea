import type { Database, RootDatabase } from "lmdb";
import { DEFAULT_PRIVACY, type GroupInvite, type GroupInviteStore, type PrivacySettings, type PrivacyStore } from "../privacy.ts";
import { StorageUnavailableError } from "../errors.ts";

const STRING_MAX = "\uffff";

type InviteValue = Omit<GroupInvite, "chat">;

async function write(operation: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    throw new StorageUnavailableError(`lmdb ${operation} failed`, { cause: error });
  }
}

/** Privacy settings in the node's LMDB environment (fsynced: a setting must not come undone). */
export class LmdbPrivacyStore implements PrivacyStore {
  private readonly db: Database<PrivacySettings, string>;

  constructor(root: RootDatabase) {
    this.db = root.openDB({ name: "privacy-settings" });
  }

  async settings(user: string): Promise<PrivacySettings> {
    return { ...DEFAULT_PRIVACY, ...this.db.get(user) };
  }

  async settingsOf(users: readonly string[]): Promise<Map<string, PrivacySettings>> {
    const out = new Map<string, PrivacySettings>();
    for (const user of users) out.set(user, { ...DEFAULT_PRIVACY, ...this.db.get(user) });
    return out;
  }

  setSettings(user: string, settings: PrivacySettings): Promise<void> {
    return write("privacy.set", () => this.db.put(user, { ...settings }));
  }
}

/** Pending group invitations; expired ones are skipped on read and dropped on the user's next put. */
export class LmdbGroupInviteStore implements GroupInviteStore {
  private readonly db: Database<InviteValue, [string, string]>;

  constructor(private readonly root: RootDatabase) {
    this.db = root.openDB({ name: "group-invites" });
  }

  putInvite(user: string, invite: GroupInvite, maxPending: number): Promise<void> {
    return write("invites.put", () =>
      this.root.transaction(() => {
        const { chat, ...value } = invite;
        this.db.put([user, chat], value);
        const now = Date.now();
        const held: GroupInvite[] = [];
        for (const entry of this.all(user)) {
          if (entry.expiresAt <= now) this.db.remove([user, entry.chat]);
          else if (entry.chat !== chat) held.push(entry);
        }
        held.sort((a, b) => a.createdAt - b.createdAt);
        // The new invitation counts as one of the pending ones.
        for (const old of held.slice(0, Math.max(0, held.length + 1 - maxPending))) this.db.remove([user, old.chat]);
      }),
    );
  }

  async invites(user: string, now: number): Promise<GroupInvite[]> {
    return this.all(user)
      .filter((invite) => invite.expiresAt > now)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  async invite(user: string, chat: string, now: number): Promise<GroupInvite | undefined> {
    const value = this.db.get([user, chat]);
    return value && value.expiresAt > now ? { chat, ...value } : undefined;
  }

  deleteInvite(user: string, chat: string): Promise<void> {
    return write("invites.delete", () => this.db.remove([user, chat]));
  }

  private all(user: string): GroupInvite[] {
    const out: GroupInvite[] = [];
    for (const { key, value } of this.db.getRange({ start: [user, ""], end: [user, STRING_MAX] })) out.push({ chat: key[1], ...value });
    return out;
  }
}
