import cassandra from "cassandra-driver";
import type { MediaRef } from "../../protocol/frames.ts";
import type { MessagePatch, StoredMessage } from "../messages.ts";
import { bucketOf } from "./buckets.ts";
import {
  blobParam,
  booleanColumn,
  bytesColumn,
  numberColumn,
  optionalBooleanColumn,
  optionalMediaColumn,
  optionalNumberColumn,
  optionalTextColumn,
  optionalTextMapColumn,
  textColumn,
} from "./columns.ts";
import type { Row, Statement } from "./session.ts";

/** How a StoredMessage maps to a `messages` row and back (see migrations/001, 002 and 003). */

export const MESSAGE_COLUMNS =
  "chat, seq, sender, ts, body, body_is_text, kind, reply, cid, target, emoji, edited, deleted, reactions, media";

const INSERT_MESSAGE =
  "INSERT INTO messages (chat, bucket, seq, sender, ts, body, body_is_text, kind, reply, cid, target, emoji, edited, deleted, reactions, media) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

// Stored for "none" so every insert sets these columns and no null (a tombstone) is written;
// seqs start at 1 and 0 ms is no edit time anyone meant.
const NO_SEQ = 0;
const NOT_EDITED = 0;
// emoji ("" is a meaningful "remove my reaction"), reactions and media have no such value: when absent
// they are left unset, which writes nothing. A seq is only ever rewritten with the same message
// (the ConversationActor retries a batch unchanged), so an unset cell never hides an older value.
const UNSET: unknown = cassandra.types.unset;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

function bodyParams(body: StoredMessage["body"]): [Buffer, boolean] {
  const bytes = typeof body === "string" ? utf8.encode(body) : body;
  return [blobParam(bytes), typeof body === "string"];
}

/** The media_ref fields; a message without a thumbnail leaves that field null inside the frozen value. */
function mediaParam(media: MediaRef): Record<string, unknown> {
  const thumb = media.thumb ? blobParam(media.thumb) : null;
  return { id: media.id, mime: media.mime, size: media.size, sha256: media.sha256, thumb };
}

export function insertMessage(message: StoredMessage): Statement {
  const [body, isText] = bodyParams(message.body);
  return {
    query: INSERT_MESSAGE,
    params: [
      message.chat,
      bucketOf(message.seq),
      message.seq,
      message.from,
      message.ts,
      body,
      isText,
      message.kind,
      message.reply ?? NO_SEQ,
      message.cid,
      message.target ?? NO_SEQ,
      message.emoji ?? UNSET,
      message.edited ?? NOT_EDITED,
      message.deleted ?? false,
      message.reactions ?? UNSET,
      message.media ? mediaParam(message.media) : UNSET,
    ],
  };
}

/**
 * An UPDATE of only the columns the patch names, or undefined when it names none. An UPDATE
 * would create a row that is not there, so callers patch only rows they know exist.
 */
export function patchMessage(chat: string, patch: MessagePatch): Statement | undefined {
  const assignments: string[] = [];
  const params: unknown[] = [];
  if (patch.body !== undefined) {
    assignments.push("body = ?", "body_is_text = ?");
    params.push(...bodyParams(patch.body));
  }
  if (patch.edited !== undefined) {
    assignments.push("edited = ?");
    params.push(patch.edited);
  }
  if (patch.deleted !== undefined) {
    assignments.push("deleted = ?");
    params.push(patch.deleted);
  }
  if (patch.reactions !== undefined) {
    assignments.push("reactions = ?");
    params.push(patch.reactions);
  }
  if (assignments.length === 0) return undefined;
  // At most 2^4 distinct query strings, so the driver's per-query prepare cache stays tiny.
  return {
    query: `UPDATE messages SET ${assignments.join(", ")} WHERE chat = ? AND bucket = ? AND seq = ?`,
    params: [...params, chat, bucketOf(patch.seq), patch.seq],
  };
}

/** The message as it is once `patch` applied, for a patch of a message in the same batch. */
export function applyPatch(message: StoredMessage, patch: MessagePatch): StoredMessage {
  const next = { ...message };
  if (patch.body !== undefined) next.body = patch.body;
  if (patch.edited !== undefined) next.edited = patch.edited;
  if (patch.deleted !== undefined) next.deleted = patch.deleted;
  if (patch.reactions !== undefined) next.reactions = patch.reactions;
  return next;
}

export function messageFromRow(row: Row): StoredMessage {
  const bytes = bytesColumn(row, "body");
  const message: StoredMessage = {
    chat: textColumn(row, "chat"),
    seq: numberColumn(row, "seq"),
    from: textColumn(row, "sender"),
    ts: numberColumn(row, "ts"),
    body: booleanColumn(row, "body_is_text") ? utf8Strict.decode(bytes) : bytes,
    kind: textColumn(row, "kind"),
    cid: textColumn(row, "cid"),
  };
  const reply = numberColumn(row, "reply");
  if (reply !== NO_SEQ) message.reply = reply;
  const target = optionalNumberColumn(row, "target");
  if (target !== undefined && target !== NO_SEQ) message.target = target;
  const emoji = optionalTextColumn(row, "emoji");
  if (emoji !== undefined) message.emoji = emoji;
  const edited = optionalNumberColumn(row, "edited");
  if (edited !== undefined && edited !== NOT_EDITED) message.edited = edited;
  if (optionalBooleanColumn(row, "deleted") === true) message.deleted = true;
  const reactions = optionalTextMapColumn(row, "reactions");
  if (reactions !== undefined) message.reactions = reactions;
  const media = optionalMediaColumn(row, "media");
  if (media !== undefined) message.media = media;
  return message;
}
