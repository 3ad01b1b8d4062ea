import { encodeOnceForAll } from "../protocol/codec.ts";
import type { ChatEventFrame, MessageFrame, SkipFrame } from "../protocol/frames.ts";
import type { MessagePatch, StoredMessage } from "../storage/messages.ts";
import { WITHHELD_KIND } from "./blocking.ts";

/** Kinds whose entries change an earlier message instead of being one. */
export const EVENT_KINDS = new Set(["edit", "delete", "react"]);

export function isEventEntry(entry: StoredMessage): boolean {
  return entry.target !== undefined && EVENT_KINDS.has(entry.kind);
}

/**
 * The kind of a stand-in for an entry its receiver may not see. Never stored, and not a kind
 * a client can send (client kinds start with a letter).
 */
const HIDDEN_KIND = "#hidden";

/** What a member who may not see `entry` is handed in its place: its position, nothing else. */
export function hiddenEntry(entry: StoredMessage): StoredMessage {
  return { chat: entry.chat, seq: entry.seq, ts: entry.ts, from: "", body: "", kind: HIDDEN_KIND, cid: "" };
}

/**
 * Whether a member who joined a group at `joinedSeq` may see `entry`: an event (edit, delete,
 * react) about a message from before they joined tells of history they were promised not to see.
 */
export function visibleFrom(entry: StoredMessage, joinedSeq: number): boolean {
  return !isEventEntry(entry) || entry.target! >= joinedSeq;
}

/** The client's view of a stored message: everything but the sender's idempotency key. */
export function toMessageFrame(message: StoredMessage): MessageFrame {
  return {
    t: "msg",
    chat: message.chat,
    seq: message.seq,
    from: message.from,
    ts: message.ts,
    body: message.body,
    kind: message.kind,
    reply: message.reply,
    media: message.media,
    edited: message.edited,
    deleted: message.deleted || undefined,
    reactions: message.reactions && Object.keys(message.reactions).length > 0 ? message.reactions : undefined,
  };
}

/**
 * The frame an entry of a chat's log becomes. Edit entries are stored without their body
 * (a later delete must leave no copy of it behind); `editedBody` supplies it.
 */
export function toClientFrame(entry: StoredMessage, editedBody?: StoredMessage["body"]): ClientFrame {
  // A withheld entry (src/actors/blocking.ts) holds only a position, like a hidden one.
  if (entry.kind === HIDDEN_KIND || entry.kind === WITHHELD_KIND) return { t: "skip", chat: entry.chat, pos: entry.seq };
  if (!isEventEntry(entry)) return toMessageFrame(entry);
  const common = { chat: entry.chat, seq: entry.target!, ts: entry.ts, pos: entry.seq };
  switch (entry.kind) {
    case "edit":
      return { t: "edit", ...common, body: editedBody ?? entry.body, by: entry.from };
    case "delete":
      return { t: "delete", ...common, by: entry.from };
    default:
      return { t: "react", ...common, user: entry.from, emoji: entry.emoji ?? "" };
  }
}

type ClientFrame = MessageFrame | ChatEventFrame | SkipFrame;

/** Frames of entries handed to many members, keyed by the entry object all their delivers share. */
const fannedOut = new WeakMap<StoredMessage, ClientFrame>();

/**
 * Builds and encodes `entry`'s frame once for every member it is about to be handed to (see
 * clientFrameOf): a group message reaches hundreds of connections as the same bytes.
 */
export function shareClientFrame(entry: StoredMessage): void {
  fannedOut.set(entry, encodeOnceForAll(toClientFrame(entry)));
}

/** The frame of `entry` as it is handed live: the shared one when its fan-out made one. */
export function clientFrameOf(entry: StoredMessage): ClientFrame {
  return fannedOut.get(entry) ?? toClientFrame(entry);
}

/** A stored message with a patch applied: its state after an edit, delete or reaction. */
export function applyPatch(message: StoredMessage, patch: MessagePatch): StoredMessage {
  const { seq: _seq, ...changes } = patch;
  return { ...message, ...changes };
}
