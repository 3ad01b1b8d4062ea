import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { open, type Database, type RootDatabase } from "lmdb";
import type { CursorStore, CursorWrite } from "../cursors.ts";
import { SeqConflictError, StorageUnavailableError } from "../errors.ts";
import type { GroupInfo, GroupStore } from "../groups.ts";
import type { AppendBatch, InboxEntry, MessageStore, SendRecord, StoredMessage } from "../messages.ts";
import type { PresenceStore } from "../presence.ts";
import type { MarksWrite, MemberMarks, ReceiptStore } from "../receipts.ts";
import type { Stores } from "../stores.ts";
import { LmdbKeyStore, openKeyDatabases } from "./lmdb-key-store.ts";
import { LmdbPushStore } from "./push-store.ts";
import { LmdbAccountStore } from "./account-store.ts";
import { LmdbGroupInviteStore, LmdbPrivacyStore } from "./privacy-store.ts";
import { LmdbProfileStore } from "./profile-store.ts";
import { LmdbUserSetStore } from "./user-set-store.ts";
import { LmdbStatusStore } from "./status-store.ts";

/** Upper bound for the seq part of a key range; seqs are safe integers. */
const SEQ_MAX = Number.MAX_SAFE_INTEGER;
/** Sorts after every chat id and user id (they are ASCII). */
const STRING_MAX = "\uffff";

type MessageValue = Omit<StoredMessage, "chat" | "seq">;
type MessageKey = [string, number];

interface LmdbDatabases {
  messages: Database<MessageValue, MessageKey>;
  cids: Database<SendRecord, [string, string, string]>;
  inbox: Database<number, [string, string]>;
  cursors: Database<number, [string, string, string]>;
  marks: Database<MemberMarks, [string, string]>;
  groups: Database<GroupInfo, string>;
  groupsByUser: Database<true, [string, string]>;
  lastSeen: Database<number, string>;
}

function unavailable(operation: string, error: unknown): StorageUnavailableError {
  return new StorageUnavailableError(`lmdb ${operation} failed`, { cause: error });
}

class LmdbMessageStore implements MessageStore {
  constructor(
    private readonly root: RootDatabase,
    private readonly db: LmdbDatabases,
  ) {}

  async append(batch: AppendBatch): Promise<void> {
    const last = batch.messages.at(-1);
    if (!last && !batch.patches?.length) return;
    try {
      // One write transaction: messages, idempotency keys and inbox entries commit together,
      // and the promise settles only after the commit is on disk.
      await this.root.transaction(() => {
        const first = batch.messages[0];
        if (first) {
          const stored = this.lastSeqNow(batch.chat);
          if (stored >= first.seq) {
            // The same batch landing twice (a retry after an unclear failure) is not a conflict.
            const already = this.db.messages.get([batch.chat, first.seq]);
            if (already && already.cid === first.cid && already.from === first.from && already.ts === first.ts) return;
            throw new SeqConflictError(`${batch.chat} already holds seq ${first.seq}`);
          }
          if (stored !== first.seq - 1) throw new SeqConflictError(`${batch.chat} is at seq ${stored}, not ${first.seq - 1}`);
        }
        for (const message of batch.messages) {
          const { chat, seq, ...value } = message;
          this.db.messages.put([chat, seq], value);
          // Event entries (edits, deletes, reactions) carry no idempotency key.
          if (message.cid !== "") this.db.cids.put([chat, message.from, message.cid], { seq, ts: message.ts });
        }
        for (const patch of batch.patches ?? []) {
          const current = this.db.messages.get([batch.chat, patch.seq]);
          if (!current) continue;
          const { seq: _seq, ...changes } = patch;
          this.db.messages.put([batch.chat, patch.seq], { ...current, ...changes });
        }
        if (!last) return;
        for (const user of batch.notify) {
          this.db.inbox.put([user, batch.chat], last.seq);
        }
      });
    } catch (error) {
      if (error instanceof SeqConflictError) throw error;
      throw unavailable("append", error);
    }
  }

  async lastSeq(chat: string): Promise<number> {
    return this.lastSeqNow(chat);
  }

  private lastSeqNow(chat: string): number {
    for (const key of this.db.messages.getKeys({ start: [chat, SEQ_MAX], end: [chat, 0], reverse: true, limit: 1 })) {
      return key[1];
    }
    return 0;
  }

  async findByCid(chat: string, from: string, cid: string): Promise<SendRecord | undefined> {
    return this.db.cids.get([chat, from, cid]);
  }

  async readAfter(chat: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    const out: StoredMessage[] = [];
    for (const { key, value } of this.db.messages.getRange({ start: [chat, afterSeq + 1], end: [chat, SEQ_MAX], limit })) {
      out.push({ chat, seq: key[1], ...value });
    }
    return out;
  }

  async readBefore(chat: string, beforeSeq: number, limit: number): Promise<StoredMessage[]> {
    const out: StoredMessage[] = [];
    if (beforeSeq <= 1) return out;
    for (const { key, value } of this.db.messages.getRange({ start: [chat, beforeSeq - 1], end: [chat, 0], reverse: true, limit })) {
      out.push({ chat, seq: key[1], ...value });
    }
    return out.reverse();
  }

  async inbox(user: string): Promise<InboxEntry[]> {
    const out: InboxEntry[] = [];
    for (const { key, value } of this.db.inbox.getRange({ start: [user, ""], end: [user, STRING_MAX] })) {
      out.push({ chat: key[1], seq: value });
    }
    return out;
  }
}

class LmdbCursorStore implements CursorStore {
  constructor(private readonly db: LmdbDatabases) {}

  async cursors(user: string, device: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const { key, value } of this.db.cursors.getRange({ start: [user, device, ""], end: [user, device, STRING_MAX] })) {
      out.set(key[2], value);
    }
    return out;
  }

  async setCursor(user: string, device: string, chat: string, seq: number): Promise<void> {
    try {
      await this.db.cursors.put([user, device, chat], seq);
    } catch (error) {
      throw unavailable("setCursor", error);
    }
  }

  async setCursors(writes: readonly CursorWrite[]): Promise<void> {
    try {
      await this.db.cursors.transaction(() => {
        for (const { user, device, chat, seq } of writes) void this.db.cursors.put([user, device, chat], seq);
      });
    } catch (error) {
      throw unavailable("setCursors", error);
    }
  }
}

class LmdbReceiptStore implements ReceiptStore {
  constructor(private readonly db: LmdbDatabases) {}

  async marks(chat: string): Promise<Map<string, MemberMarks>> {
    const out = new Map<string, MemberMarks>();
    for (const { key, value } of this.db.marks.getRange({ start: [chat, ""], end: [chat, STRING_MAX] })) {
      out.set(key[1], value);
    }
    return out;
  }

  async setMarks(chat: string, user: string, marks: MemberMarks): Promise<void> {
    try {
      await this.db.marks.put([chat, user], { delivered: marks.delivered, read: marks.read });
    } catch (error) {
      throw unavailable("setMarks", error);
    }
  }

  async setManyMarks(writes: readonly MarksWrite[]): Promise<void> {
    try {
      await this.db.marks.transaction(() => {
        for (const { chat, user, marks } of writes) void this.db.marks.put([chat, user], { delivered: marks.delivered, read: marks.read });
      });
    } catch (error) {
      throw unavailable("setManyMarks", error);
    }
  }
}

class LmdbGroupStore implements GroupStore {
  constructor(
    private readonly root: RootDatabase,
    private readonly db: LmdbDatabases,
  ) {}

  async get(chat: string): Promise<GroupInfo | undefined> {
    return this.db.groups.get(chat);
  }

  async put(group: GroupInfo, previousMembers: readonly string[]): Promise<void> {
    const now = new Set(group.members);
    try {
      await this.root.transaction(() => {
        this.db.groups.put(group.chat, group);
        for (const user of previousMembers) if (!now.has(user)) this.db.groupsByUser.remove([user, group.chat]);
        for (const user of group.members) this.db.groupsByUser.put([user, group.chat], true);
      });
    } catch (error) {
      throw unavailable("putGroup", error);
    }
  }

  async groupsOf(user: string): Promise<string[]> {
    const out: string[] = [];
    for (const key of this.db.groupsByUser.getKeys({ start: [user, ""], end: [user, STRING_MAX] })) out.push(key[1]);
    return out;
  }
}

class LmdbPresenceStore implements PresenceStore {
  constructor(private readonly db: LmdbDatabases) {}

  async setLastSeen(user: string, ts: number): Promise<void> {
    try {
      await this.db.lastSeen.put(user, ts);
    } catch (error) {
      throw unavailable("setLastSeen", error);
    }
  }

  async lastSeen(users: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const user of users) {
      const ts = this.db.lastSeen.get(user);
      if (ts !== undefined) out.set(user, ts);
    }
    return out;
  }
}

export interface LmdbOptions {
  /** Directory holding the LMDB environment. */
  path: string;
}

/**
 * LMDB creates its files 0664 unless told (`permissionsMode`, which its typings lack): the
 * messages would be readable by every local user. Directories 0700, files 0600.
 */
export const LMDB_PRIVATE = { permissionsMode: 0o600 } as const;

/** An LMDB environment directory, owner-only; files an older version made 0644 are made 0600. */
export function preparePrivateLmdbDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
  for (const file of ["data.mdb", "lock.mdb"]) {
    const filePath = join(path, file);
    if (existsSync(filePath)) chmodSync(filePath, 0o600);
  }
}

/** The embedded default: one LMDB environment under the data directory, nothing else to run. */
export function openLmdbStores(options: LmdbOptions): Stores {
  preparePrivateLmdbDir(options.path);
  const root = open({ path: options.path, maxDbs: 64, ...LMDB_PRIVATE });
  // Watermarks and last seen are rewritten on every ack and read: they live in a second
  // environment that is not fsynced on commit. They survive a process crash (the page cache
  // does); a machine crash may lose their last seconds, which only means messages are
  // delivered again (at-least-once) and a receipt or last seen arrives late.
  preparePrivateLmdbDir(join(options.path, "soft"));
  const soft = open({ path: join(options.path, "soft"), maxDbs: 8, noSync: true, ...LMDB_PRIVATE });
  const db: LmdbDatabases = {
    messages: root.openDB({ name: "messages" }),
    cids: root.openDB({ name: "cids" }),
    inbox: root.openDB({ name: "inbox" }),
    cursors: soft.openDB({ name: "cursors" }),
    marks: soft.openDB({ name: "marks" }),
    groups: root.openDB({ name: "groups" }),
    groupsByUser: root.openDB({ name: "groups-by-user" }),
    lastSeen: soft.openDB({ name: "last-seen" }),
  };
  return {
    backend: "lmdb",
    messages: new LmdbMessageStore(root, db),
    cursors: new LmdbCursorStore(db),
    receipts: new LmdbReceiptStore(db),
    groups: new LmdbGroupStore(root, db),
    presence: new LmdbPresenceStore(db),
    keys: new LmdbKeyStore(root, openKeyDatabases(root)),
    push: new LmdbPushStore(root),
    accounts: new LmdbAccountStore(root),
    privacy: new LmdbPrivacyStore(root),
    invites: new LmdbGroupInviteStore(root),
    profiles: new LmdbProfileStore(root),
    contacts: new LmdbUserSetStore(root, "user-contacts"),
    blocks: new LmdbUserSetStore(root, "user-blocks"),
    status: new LmdbStatusStore(root),
    close: async () => {
      await soft.close();
      await root.close();
    },
  };
}
