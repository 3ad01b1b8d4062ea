import type { MediaAccess } from "../media/access.ts";
import type { MediaRef } from "../protocol/frames.ts";
import type { ClientLink, ReplyTo, Tell, TellIfActive } from "../seams.ts";
import type { GroupInfo } from "../storage/groups.ts";
import type { MessagePatch, StoredMessage } from "../storage/messages.ts";
import type { MemberMarks } from "../storage/receipts.ts";
import type { Stores } from "../storage/stores.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import type { ActorDirectory } from "./directory.ts";
import type { ConversationMessage, UserMessage } from "./messages.ts";
import { DirectChatBlocks } from "./blocking.ts";
import { TypingRelay } from "./typing.ts";
import { ChatWriter, type Accepted, type ChatWriterDeps } from "./chat-writer.ts";

export type { Accepted };

// A chat's state and what its helpers (group commands, message operations) use of the chat's
// actor, apart from the actor itself so that the helpers and the actor import this file, not
// each other. The writer of the chat's log is its own unit (chat-writer.ts), held in the state.

export class ConversationState {
  loaded = false;
  /** Undefined for a direct chat, and for a group id that was never created. */
  group: GroupInfo | undefined;
  members: readonly string[] = [];
  marks = new Map<string, MemberMarks>();
  /**
   * Current state of recently touched messages (looked up, edited, reacted to), including
   * changes still being written. A message just sent is not put here: until it is durable the
   * writer holds it (ChatWriter.pendingAt), and a Map that took and dropped every message
   * would keep the messages alive past young-generation GCs in the tables it leaves behind
   * (V8 keeps an outgrown table's entries until a full GC).
   */
  readonly recent = new Map<number, StoredMessage>();
  readonly typing = new TypingRelay();
  /** Whose entries a direct chat withholds from the other member (blocking). */
  readonly blocks = new DirectChatBlocks();
  /** Seqs, batches and retries of this chat's log. */
  readonly writer: ChatWriter;
  /** `members` as a set, rebuilt when `members` is replaced (it is never changed in place: it is readonly). */
  private memberSet: ReadonlySet<string> = new Set();
  private memberSetOf: readonly string[] | undefined;

  constructor(writerDeps: ChatWriterDeps) {
    // Entries dropped before they were durable may have patched cached messages.
    this.writer = new ChatWriter(writerDeps, () => this.recent.clear());
  }

  /** `members.includes(user)` without a walk of a 500-member group per ack. */
  isMember(user: string): boolean {
    if (this.memberSetOf !== this.members) {
      this.memberSet = new Set(this.members);
      this.memberSetOf = this.members;
    }
    return this.memberSet.has(user);
  }

  /** Highest seq known durable. */
  get lastSeq(): number {
    return this.writer.lastSeq;
  }

  /** The seq the next accepted entry takes. */
  get nextSeq(): number {
    return this.writer.nextSeq;
  }
}

export interface ConversationLimits extends GroupMembershipLimits {
  maxGroupMembers: number;
  fanoutThreshold: number;
  editWindowMs: number;
  deleteWindowMs: number;
  typingThrottleMs: number;
  typingExpiryMs: number;
}

export interface ConversationDeps {
  stores: Stores;
  link: ClientLink;
  users: Tell<UserMessage> & TellIfActive<UserMessage>;
  /** This node's directory of chats: the actor's own mail, and `track` to stay alive while work is in flight. */
  self: Pick<ActorDirectory<ConversationMessage, ConversationState>, "tell" | "track" | "hold" | "runIfIdle">;
  log: Logger;
  limits: ConversationLimits;
  /** Message timestamps, the edit and delete windows, typing and invitation expiry read it. */
  clock: Clock;
  onStored: (count: number) => void;
  /** Counts batches refused because another writer had written the chat. */
  onConflict?: () => void;
  /** Told of every durable entry and its audience (push notifications for devices that do not ack in time). */
  onDurable?: (entries: ReadonlyArray<{ message: StoredMessage; audience: readonly string[] }>) => void;
  /** Messages written per store call at most: bounds the latency one batch adds to the next. */
  maxBatch?: number;
  /** Links media to the chat before a media message is accepted; without it media sends are refused. */
  media?: Pick<MediaAccess, "attach">;
}

/** An entry to append, before the writer gives it a place. */
export interface NewEntry {
  from: string;
  body: StoredMessage["body"];
  kind: string;
  cid: string;
  reply?: number;
  media?: MediaRef;
  target?: number;
  emoji?: string;
}

export interface AcceptOptions {
  device: string;
  waiters: ReplyTo[];
  patches?: MessagePatch[];
  /** The body members receive live when it differs from the stored one. */
  liveBody?: StoredMessage["body"];
  /** Receivers besides the current members (a member being removed sees their removal). */
  alsoTo?: readonly string[];
}

/** What group commands and message operations use of the writer. */
export interface ConversationKit {
  readonly deps: ConversationDeps;
  accept(state: ConversationState, chat: string, entry: NewEntry, options: AcceptOptions): StoredMessage;
  /** A message's current state, or undefined if `seq` names no message of the chat. */
  message(state: ConversationState, chat: string, seq: number): Promise<StoredMessage | undefined>;
  answerSent(replyTo: ReplyTo, chat: string, seq: number, ts: number, cid?: string): void;
}

/** How far one user's group memberships and invitations may grow. */
export interface GroupMembershipLimits {
  /** Groups one user may be in: creating, being added to or joining one more is refused. */
  maxGroupsPerUser: number;
  inviteTtlMs: number;
  /** Pending invitations per user; more drop the oldest. */
  maxPendingInvites: number;
}
