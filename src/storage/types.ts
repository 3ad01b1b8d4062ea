/**
 * The storage seams. Shaped around the chat domain, not around a database: the embedded
 * LMDB store and the ScyllaDB/Redis stores implement the same contracts (test/storage/contract.ts).
 *
 * Concurrency contract: every key has one writer at a time. A chat's messages and member
 * watermarks are written only by that chat's ConversationActor; a user's device cursors only
 * by that user's UserActor. So implementations may apply "advance to max" without compare-and-set.
 */
import type { Readable } from "node:stream";
import type { AccountStore } from "./accounts.ts";
import type { Body, MediaRef } from "../protocol/frames.ts";
import type { GroupInviteStore, PrivacyStore } from "./privacy.ts";
import type { StatusStore } from "./status.ts";

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
   * StorageUnavailableError when the backend cannot take the write.
   */
  append(batch: AppendBatch): Promise<void>;
  /** 0 for a chat with no messages. */
  lastSeq(chat: string): Promise<number>;
  findByCid(chat: string, from: string, cid: string): Promise<SendRecord | undefined>;
  /** Messages with seq > afterSeq, ascending, at most `limit`. */
  readAfter(chat: string, afterSeq: number, limit: number): Promise<StoredMessage[]>;
  /** The latest `limit` messages with seq < beforeSeq, returned in ascending seq. */
  readBefore(chat: string, beforeSeq: number, limit: number): Promise<StoredMessage[]>;
  /** Every chat the user was notified of, with its latest notified seq. */
  inbox(user: string): Promise<InboxEntry[]>;
}

/** What one device has received: the highest contiguous seq it acked, per chat. */
export interface CursorStore {
  cursors(user: string, device: string): Promise<Map<string, number>>;
  /** Single writer per user: the caller only ever passes a higher seq than the stored one. */
  setCursor(user: string, device: string, chat: string, seq: number): Promise<void>;
}

export interface MemberMarks {
  delivered: number;
  read: number;
}

/** Per (chat, member) watermarks behind delivered and read receipts. */
export interface ReceiptStore {
  marks(chat: string): Promise<Map<string, MemberMarks>>;
  /** Single writer per chat: the caller passes marks that only ever grow. */
  setMarks(chat: string, user: string, marks: MemberMarks): Promise<void>;
}

export interface GroupInfo {
  /** `g:` + a server-chosen id. */
  chat: string;
  name: string;
  members: string[];
  admins: string[];
  createdBy: string;
  createdAt: number;
  /** The seq of the system message that added each member: they see nothing older. */
  joined: Record<string, number>;
}

/** Group metadata and each user's groups. Single writer per group: its ConversationActor. */
export interface GroupStore {
  get(chat: string): Promise<GroupInfo | undefined>;
  /**
   * Writes the group and keeps the user → groups index in step: users in `group.members`
   * but not in `previousMembers` gain the group, users only in `previousMembers` lose it.
   */
  put(group: GroupInfo, previousMembers: readonly string[]): Promise<void>;
  /** The groups `user` is a member of now. */
  groupsOf(user: string): Promise<string[]>;
}

/** What outlives a connection: when each user was last online. */
export interface PresenceStore {
  setLastSeen(user: string, ts: number): Promise<void>;
  /** Users never seen are absent from the map. */
  lastSeen(users: readonly string[]): Promise<Map<string, number>>;
}

export interface Stores {
  readonly backend: string;
  readonly messages: MessageStore;
  readonly cursors: CursorStore;
  readonly receipts: ReceiptStore;
  readonly groups: GroupStore;
  readonly presence: PresenceStore;
  /** Privacy settings (src/storage/privacy.ts), and the group invitations they produce. */
  readonly privacy: PrivacyStore;
  readonly invites: GroupInviteStore;
  /** Status updates (src/storage/status.ts). */
  readonly status: StatusStore;
  /** Absent on backends without a prekey service yet: `keys.*` requests are answered `unavailable`. */
  readonly keys?: KeyStore;
  /** Absent on backends without push storage yet: push is then off (`push.*` answered `unavailable`). */
  readonly push?: PushRegistrationStore;
  /** Absent on backends without account storage: sign-up and refresh are off (their routes answer 404). */
  readonly accounts?: AccountStore;
  close(): Promise<void>;
}

/**
 * The chat's log already holds the batch's first seq: another writer (a node that also
 * believed it owned the chat) got there first. Nothing of the batch was written.
 */
export class SeqConflictError extends Error {
  override readonly name = "SeqConflictError";
}

/** The backend could not serve the request right now; the client may retry. */
export class StorageUnavailableError extends Error {
  override readonly name = "StorageUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

// ---- end-to-end encryption: the prekey service ------------------------------

/** A public key with the owner's signature over it by its identity key (opaque to the router). */
export interface SignedKey {
  id: number;
  key: Uint8Array;
  sig: Uint8Array;
}

export interface OneTimeKey {
  id: number;
  key: Uint8Array;
}

/** What one device publishes so others can start sessions with it while it is offline. */
export interface DeviceKeys {
  identity: Uint8Array;
  signed: SignedKey;
  /** A signed last-resort post-quantum (Kyber) prekey, as PQXDH needs. */
  kyber?: SignedKey;
  /** The device's registration id, for clients (libsignal) that check it. */
  reg?: number;
}

/** One device's bundle as handed out, with at most one one-time prekey claimed for the caller. */
export interface ClaimedBundle extends DeviceKeys {
  device: string;
  /** Absent when the device has no one-time prekeys left. */
  prekey?: OneTimeKey;
  /** One-time prekeys the device has left after this claim (0, unread, when no claim was made). */
  remaining: number;
  /** This claim took the device below the low-water mark: tell the owner (once per drop). */
  low: boolean;
}

export interface KeyPutResult {
  /** One-time prekeys the device holds after the put (or before it, when refused). */
  count: number;
  /** Set when the put would take the device over `maxPrekeys`: nothing was written. */
  refused?: "limit";
}

/**
 * Prekeys per (user, device). Unlike the other stores this one has many writers per key
 * (every device that starts a session claims), so `claim` must be atomic on its own:
 * a one-time prekey is handed to one caller, ever, across all nodes.
 */
export interface KeyStore {
  /**
   * Replaces the device's identity, signed (and kyber) prekeys and adds `prekeys` (an id
   * already stored is replaced). A new identity drops the device's old one-time prekeys.
   * Clears the low flag once the device holds at least `lowWater` again.
   */
  put(user: string, device: string, keys: DeviceKeys, prekeys: OneTimeKey[], limits: { maxPrekeys: number; lowWater: number }): Promise<KeyPutResult>;
  /**
   * One bundle per device of `user` (or only `device`), each with one one-time prekey
   * removed from the store in the same atomic step. Empty when no device has keys.
   * `oneTime: false` hands out the bundles without a one-time prekey and changes nothing
   * (the target's per-window claim budget is spent: see KeyService).
   */
  claim(user: string, device: string | undefined, limits: { lowWater: number; oneTime?: boolean }): Promise<ClaimedBundle[]>;
}

// ---- push notifications --------------------------------------------------------

export type PushPlatform = "apns" | "fcm" | "webhook";

/** One device's push address. A device has at most one; registering again replaces it. */
export interface PushRegistration {
  user: string;
  device: string;
  platform: PushPlatform;
  token: string;
  updatedAt: number;
}

/**
 * Quiet hours as minutes of the day (0-1440) in `tz`, an IANA zone (UTC when absent): quiet
 * when start <= now < end, wrapping midnight when start > end.
 */
export interface PushDnd {
  start: number;
  end: number;
  tz?: string;
}

export interface PushSettings {
  /** chat → muted until (ms since the epoch). */
  mutes: Map<string, number>;
  dnd?: PushDnd;
}

/** Written from any node's sessions; each key is one (user, device) or (user, chat), so last write wins. */
export interface PushRegistrationStore {
  register(registration: PushRegistration): Promise<void>;
  unregister(user: string, device: string): Promise<void>;
  /**
   * Removes the registration only while it still holds `token`: a provider's "unregistered"
   * answer about an old token must not remove the one the device registered since.
   */
  removeIfToken(user: string, device: string, token: string): Promise<boolean>;
  registrations(user: string): Promise<PushRegistration[]>;
  settings(user: string): Promise<PushSettings>;
  /** `until` 0 (or in the past) unmutes. */
  setMute(user: string, chat: string, until: number): Promise<void>;
  /** Undefined clears the do-not-disturb window. */
  setDnd(user: string, dnd: PushDnd | undefined): Promise<void>;
}

// ---- media --------------------------------------------------------------------
// Not a member of Stores: media bytes live in a file tree or an object store, chosen
// independently of the message backend (src/storage/media/).

/** What the router records about one uploaded object. The bytes are opaque to it. */
export interface MediaInfo {
  id: string;
  /** The user who uploaded it: may always download it and reference it in a message. */
  uploader: string;
  mime: string;
  size: number;
  /** Lowercase hex sha256 of the bytes as stored (ciphertext for encrypted chats). */
  sha256: string;
  createdAt: number;
}

/** An inclusive byte range, already checked against the object's size. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface PresignedRequest {
  method: "PUT" | "GET";
  url: string;
  /** Headers the client must send as they are: they are part of the signature. */
  headers: Record<string, string>;
  expiresAt: number;
}

export interface MediaStore {
  readonly backend: string;
  /**
   * Takes ownership of a fully written, hashed staging file (moved or uploaded, then removed)
   * and records its info. Resolves once both are durable.
   */
  put(info: MediaInfo, stagedFile: string): Promise<void>;
  info(id: string): Promise<MediaInfo | undefined>;
  /** The object's bytes, or the given range of them. */
  read(id: string, range?: ByteRange): Promise<Readable>;
  /** Records that `chat` carries a message referencing `id`; idempotent. */
  link(chat: string, id: string): Promise<void>;
  /** Removes the record that `chat` carries `id` (a status that expired or was deleted); idempotent. */
  unlink(chat: string, id: string): Promise<void>;
  /** Every chat that carries `id`. */
  chatsOf(id: string): Promise<string[]>;
  /** Object stores only: a URL the client uploads to directly, bypassing the router. */
  presignUpload?(info: MediaInfo, ttlSeconds: number): Promise<PresignedRequest>;
  /** Object stores only: a URL the client downloads from directly (supports Range). */
  presignDownload?(id: string, ttlSeconds: number): Promise<PresignedRequest>;
  /** Object stores only: records an object a client uploaded with presignUpload, once its bytes are there. */
  confirmUpload?(id: string): Promise<MediaInfo | undefined>;
  close(): Promise<void>;
}

/**
 * Who is online across the cluster right now, and on which node. Entries expire unless the
 * node refreshes them, so a node that dies takes its users offline within one TTL.
 */
export interface OnlinePresence {
  /** Marks `user` online on `node` and keeps the entry alive (refreshed by a node heartbeat) until markOffline. */
  markOnline(user: string, node: string, ttlMs: number): Promise<void>;
  /** Only clears the entry if `node` still holds it: a user who moved on stays online. */
  markOffline(user: string, node: string): Promise<void>;
  /** The online users among `users`, each with the node that holds them. */
  online(users: readonly string[]): Promise<Map<string, string>>;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Events counted in the current window, this one included. */
  count: number;
  /** Until the window ends and the count starts over. */
  resetInMs: number;
}

/** Fixed-window counters shared by every node, e.g. sends per user per minute. */
export interface RateLimits {
  /** Counts one event against `key` in the current window of `windowMs`. */
  hit(key: string, limit: number, windowMs: number): Promise<RateLimitDecision>;
}
