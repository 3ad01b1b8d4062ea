/**
 * A chat's message log and each user's inbox of chats that advanced. One writer per chat: its
 * ConversationActor, so implementations may apply "advance to max" without compare-and-set.
 * Implementations: lmdb/lmdb-stores.ts, cql/message-store.ts; contract in test/storage/contract.ts.
 */
import type { Body, MediaRef } from "../protocol/frames.ts";

export interface StoredMessage {
  chat: string;
  seq: number;
  from: string;
  /** Server time in ms since the epoch, assigned by the chat's writer. */
  ts: number;
  body: Body;
  kind: string;
  reply?: number;
  /** Kind `media`: the object it carries; its chat is linked to the object before it is stored. */
  media?: MediaRef;
  /** The sender's idempotency key. */
  cid: string;
  /** Event entries (kinds `edit`, `delete`, `react`): the seq of the message they act on. */
  target?: number;
  /** For `react` entries: the emoji ("" removes the reaction). */
  emoji?: string;
  /** Current state of a message: when it was last edited (ms). */
  edited?: number;
  /** Deleted for everyone: the body is gone (empty), the tombstone stays. */
  deleted?: boolean;
  /** Current reactions, one per user. */
  reactions?: Record<string, string>;
}

/** A change to a stored message's current state, written atomically with a batch. */
export interface MessagePatch {
  seq: number;
  body?: Body;
  edited?: number;
  deleted?: boolean;
  reactions?: Record<string, string>;
}

/** The first answer given to a (chat, sender, cid): what a repeated `send` gets back. */
export interface SendRecord {
  seq: number;
  ts: number;
}

export interface AppendBatch {
  chat: string;
  /** Consecutive seqs of `chat`, ascending, starting right after the chat's last stored seq. */
  messages: StoredMessage[];
  /** Users whose inbox learns that `chat` advanced to the batch's last seq. */
  notify: readonly string[];
  /** Changes to earlier messages of `chat` (edits, deletes, reactions) made by this batch. */
  patches?: MessagePatch[];
}

export interface InboxEntry {
  chat: string;
  /** The highest seq of `chat` this user was notified of. */
  seq: number;
}

export interface MessageStore {
  /**
   * Persists the batch atomically: messages, their idempotency keys and the inbox entries
   * become visible together or not at all. Fencing: the batch must continue the chat's log
   * (its first seq right after the last stored one), else it rejects with SeqConflictError
   * and writes nothing; a retry of a batch that already landed resolves without writing. Resolves only once durable; rejects with a
   * StorageUnavailableError when the backend cannot take the write (both in ./errors.ts).
   */
  append(batch: AppendBatch): Promise<void>;
  /**
   * `append`, told by a callback (no error: durable; else the error `append` would reject
   * with), always after it returns. Backends whose group commit settles many appends at once
   * (LMDB) offer it so a write costs no promises; others leave it out.
   */
  appendThen?(batch: AppendBatch, settled: (error?: unknown) => void): void;
  /** 0 for a chat with no messages. */
  lastSeq(chat: string): Promise<number>;
  findByCid(chat: string, from: string, cid: string): Promise<SendRecord | undefined>;
  /**
   * `findByCid` answered synchronously, by a backend that reads without I/O of its own (LMDB's
   * memory map): a chat then checks a send's idempotency key without a promise or a mailbox
   * turn. Backends that go over the network leave it out.
   */
  findByCidNow?(chat: string, from: string, cid: string): SendRecord | undefined;
  /** Messages with seq > afterSeq, ascending, at most `limit`. */
  readAfter(chat: string, afterSeq: number, limit: number): Promise<StoredMessage[]>;
  /** The latest `limit` messages with seq < beforeSeq, returned in ascending seq. */
  readBefore(chat: string, beforeSeq: number, limit: number): Promise<StoredMessage[]>;
  /** Every chat the user was notified of, with its latest notified seq. */
  inbox(user: string): Promise<InboxEntry[]>;
}
