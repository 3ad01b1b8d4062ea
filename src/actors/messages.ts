import type {
  Body,
  ContactListRequestFrame,
  ErrorCode,
  GroupRequestFrame,
  MediaRef,
  MessageOperationFrame,
} from "../protocol/frames.ts";
import type { ClientLink, ConnectionRef, ReplyTo } from "../seams.ts";
import type { StoredMessage } from "../storage/messages.ts";
import type { PrivacySettings } from "../storage/privacy.ts";
import type { UserCallMessage } from "../calls/messages.ts";
import type { StatusNotice } from "../status/messages.ts";

export function replyError(link: ClientLink, replyTo: ReplyTo, code: ErrorCode, msg: string): void {
  link.send(replyTo.conn, { t: "err", r: replyTo.r, code, msg });
}

// ---- to a ConversationActor -------------------------------------------------

export interface SendRequest {
  type: "send";
  from: string;
  device: string;
  cid: string;
  body: Body;
  kind: string;
  reply?: number;
  media?: MediaRef;
  replyTo: ReplyTo;
}

export interface HistoryRequest {
  type: "history";
  user: string;
  before?: number;
  limit: number;
  replyTo: ReplyTo;
}

/** A member's watermark moved (a device acked, or the user read). */
export interface MarkUpdate {
  type: "mark";
  user: string;
  delivered?: number;
  read?: number;
}

/** group.create / add / remove / leave / info / admin, for the group's actor. */
export interface GroupCommand {
  type: "group";
  user: string;
  command: GroupRequestFrame;
  replyTo: ReplyTo;
}

/** edit / delete / react of an earlier message. */
export interface MessageOperation {
  type: "operation";
  user: string;
  device: string;
  operation: MessageOperationFrame;
  replyTo: ReplyTo;
}

export interface ReceiptsQuery {
  type: "receipts";
  user: string;
  seq: number;
  replyTo: ReplyTo;
}

export interface TypingUpdate {
  type: "typing";
  user: string;
  on: boolean;
}

/** A typing indicator was never switched off; sent by the actor to itself. */
export interface TypingExpired {
  type: "typing-expired";
  user: string;
  token: number;
}

/** The store answered a batch write; sent by the actor to itself. */
export interface BatchWritten {
  type: "written";
  batchId: number;
  error?: unknown;
}

/**
 * A member of a direct chat blocked (`on`) or unblocked the other: from the blocker's actor,
 * after the store has it, so the chat's actor withholds (or again delivers) what `user` sends.
 * The chat's side answers the blocker's `blocks` (`count`: their list's size) once the block
 * holds there, wherever the ring placed the chat: a `blocks` answer means the next message
 * from `user` is withheld, not that a notice is on its way.
 */
export interface BlockNotice {
  type: "block";
  by: string;
  user: string;
  on: boolean;
  replyTo: ReplyTo;
  count: number;
}

/**
 * A record the server writes into the chat (kind `call`: a call's outcome), from `from`.
 * `cid` makes it idempotent.
 */
export interface ServerRecord {
  type: "record";
  from: string;
  kind: "call";
  body: string;
  cid: string;
}

export type ConversationMessage =
  | BlockNotice
  | ServerRecord
  | SendRequest
  | HistoryRequest
  | MarkUpdate
  | BatchWritten
  | GroupCommand
  | MessageOperation
  | ReceiptsQuery
  | TypingUpdate
  | TypingExpired;

// ---- to a UserActor ----------------------------------------------------------

export interface Attach {
  type: "attach";
  device: string;
  conn: ConnectionRef;
  r: number;
}

export interface Detach {
  type: "detach";
  device: string;
  conn: ConnectionRef;
}

/** Messages of one chat that became durable, ascending; `origin` is the device that sent them. */
export interface Deliver {
  type: "deliver";
  messages: StoredMessage[];
  origin: { user: string; device: string };
}

export interface DeviceAck {
  type: "ack";
  device: string;
  conn: ConnectionRef;
  chat: string;
  seq: number;
}

export interface ReceiptNotice {
  type: "receipt";
  chat: string;
  user: string;
  delivered?: number;
  read?: number;
}

export interface TypingNotice {
  type: "typing";
  chat: string;
  user: string;
  on: boolean;
}

/** One of the user's devices ran low on one-time prekeys (from the KeyService). */
export interface KeysLowNotice {
  type: "keys.low";
  device: string;
  count: number;
}

/**
 * Nodes left the ring (died or were cut off): the user's devices connected through them are
 * gone without a detach, and must not hold device slots or budget shares.
 */
export interface GatewaysGone {
  type: "gateways-gone";
  nodes: string[];
}

/** privacy.set / privacy.get: the user's actor owns their settings; answered with all of them. */
export interface PrivacyRequest {
  type: "privacy";
  /** Absent for privacy.get. */
  changes?: Partial<PrivacySettings>;
  replyTo: ReplyTo;
}

/** A group's actor turned an add into an invitation for this user (their settings asked for it). */
export interface GroupInviteNotice {
  type: "group.invite";
  chat: string;
  by: string;
  name: string;
  invite: string;
  expires: number;
}

/** contacts.add / remove / list and block / unblock / blocks: the user's actor owns both lists. */
export interface ContactsRequest {
  type: "contacts";
  request: ContactListRequestFrame;
  replyTo: ReplyTo;
}

export type UserMessage =
  | ContactsRequest
  | Attach
  | Detach
  | Deliver
  | DeviceAck
  | ReceiptNotice
  | TypingNotice
  | KeysLowNotice
  | GatewaysGone
  | PrivacyRequest
  | GroupInviteNotice
  | UserCallMessage
  | StatusNotice;
