import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { open, type Database, type RootDatabase } from "lmdb";
import type { CursorStore, CursorWrite } from "../cursors.ts";
import { SeqConflictError, StorageUnavailableError } from "../errors.ts";
import type { GroupInfo, GroupStore } from "../groups.ts";
import type { AppendBatch, InboxEntry, MessagePatch, MessageStore, SendRecord, StoredMessage } from "../messages.ts";
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
import { TurnCommitter } from "./turn-committer.ts";

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

/** A message as stored under its [chat, seq] key: the optional fields only when set. */
function messageValue(message: StoredMessage): MessageValue {
  const value: MessageValue = { from: message.from, ts: message.ts, body: message.body, kind: message.kind, cid: message.cid };
  if (message.reply !== undefined) value.reply = message.reply;
  if (message.media !== undefined) value.media = message.media;
  if (message.target !== undefined) value.target = message.target;
  if (message.emoji !== undefined) value.emoji = message.emoji;
  if (message.edited !== undefined) value.edited = message.edited;
  if (message.deleted !== undefined) value.deleted = message.deleted;
  if (message.reactions !== undefined) value.reactions = message.reactions;
  return value;
}

function unavailable(operation: string, error: unknown): StorageUnavailableError {
  return new StorageUnavailableError(`lmdb ${operation} failed`, { cause: error });
}

function nothingToWrite(batch: AppendBatch): boolean {
  return batch.messages.length === 0 && !batch.patches?.length;
}

/** Chats whose head the message store keeps in memory at most; past it, it starts over. */
const MAX_HEADS = 100_000;

/**
 * Messages, idempotency keys and inboxes. Appends of every chat go through one TurnCommitter:
 * what is handed in before the pending write transaction runs commits in it, one fsync for all.
 *
 * The fence against a second writer (MessageStore.append) checks each batch against the
 * chat's head as this store last wrote it, kept in memory: the log's last key is read once,
 * when a chat is first written (or after the map was dropped), not on every append. That is
 * exact because this store is the environment's only writer of messages: the data directory
 * lock keeps other processes out, and a node opens its stores once.
 */
class LmdbMessageStore implements MessageStore {
  /** Each chat's last seq, including writes of a transaction not yet committed. */
  private readonly heads = new Map<string, number>();
  private readonly appends: TurnCommitter<AppendBatch>;

  constructor(
    root: RootDatabase,
    private readonly db: LmdbDatabases,
  ) {
    // A failed transaction wrote nothing, but the heads moved as if it had.
    this.appends = new TurnCommitter(
      root,
      (batch) => this.applyAppend(batch),
      () => this.heads.clear(),
      (error) => (error instanceof SeqConflictError ? error : unavailable("append", error)),
    );
  }

  append(batch: AppendBatch): Promise<void> {
    if (nothingToWrite(batch)) return Promise.resolve();
    return this.appends.submit(batch);
  }

  appendThen(batch: AppendBatch, settled: (error?: unknown) => void): void {
    if (nothingToWrite(batch)) {
      queueMicrotask(settled);
      return;
    }
    // Messages, idempotency keys and inbox entries commit together, and `settled` hears of it
    // only after the commit is on disk.
    this.appends.submitThen(batch, settled);
  }

  /** Inside the shared write transaction: decides first, then writes (see TurnCommitter). */
  private applyAppend(batch: AppendBatch): void {
    const { chat, messages } = batch;
    const first = messages[0];
    const last = messages.at(-1);
    if (first && last) {
      const head = this.heads.get(chat) ?? this.lastSeqNow(chat);
      if (head >= first.seq) {
        // The same batch landing twice (a retry after an unclear failure) is not a conflict.
        const already = this.db.messages.get([chat, first.seq]);
        if (already && already.cid === first.cid && already.from === first.from && already.ts === first.ts) return;
        throw new SeqConflictError(`${chat} already holds seq ${first.seq}`);
      }
      if (head !== first.seq - 1) throw new SeqConflictError(`${chat} is at seq ${head}, not ${first.seq - 1}`);
      if (this.heads.size >= MAX_HEADS) this.heads.clear();
      this.heads.set(chat, last.seq);
    }
    for (const message of messages) {
      this.db.messages.put([chat, message.seq], messageValue(message));
      // Event entries (edits, deletes, reactions) carry no idempotency key.
      if (message.cid !== "") this.db.cids.put([chat, message.from, message.cid], { seq: message.seq, ts: message.ts });
    }
    if (batch.patches) this.applyPatches(chat, batch.patches);
    if (!last) return;
    for (const user of batch.notify) this.db.inbox.put([user, chat], last.seq);
  }

  private applyPatches(chat: string, patches: readonly MessagePatch[]): void {
    for (const patch of patches) {
      const current = this.db.messages.get([chat, patch.seq]);
      if (!current) continue;
      const { seq: _seq, ...changes } = patch;
      this.db.messages.put([chat, patch.seq], { ...current, ...changes });
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
    return this.findByCidNow(chat, from, cid);
  }

  findByCidNow(chat: string, from: string, cid: string): SendRecord | undefined {
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

/**
 * Values as plain MessagePack maps. lmdb-js otherwise encodes with msgpackr's records and,
 * without shared structures, writes each record's definition into every value and builds a
 * fresh one on every put (about 1 KB of garbage per message on the hot path). Values written
 * that way before still read: msgpackr decodes an inline record definition whatever the option.
 */
export const LMDB_PLAIN_VALUES = { useRecords: false } as const;

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
  const root = open({ path: options.path, maxDbs: 64, ...LMDB_PRIVATE, ...LMDB_PLAIN_VALUES });
  // Watermarks and last seen are rewritten on every ack and read: they live in a second
  // environment that is not fsynced on commit. They survive a process crash (the page cache
  // does); a machine crash may lose their last seconds, which only means messages are
  // delivered again (at-least-once) and a receipt or last seen arrives late.
  preparePrivateLmdbDir(join(options.path, "soft"));
  const soft = open({ path: join(options.path, "soft"), maxDbs: 8, noSync: true, ...LMDB_PRIVATE, ...LMDB_PLAIN_VALUES });
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
