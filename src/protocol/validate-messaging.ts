import {
  HISTORY_MAX_LIMIT,
  type AckFrame,
  type Body,
  type HistoryRequestFrame,
  type MessageOperationFrame,
  type ReadFrame,
  type ReceiptsRequestFrame,
  type SendFrame,
  type TypingRequestFrame,
} from "./frames.ts";
import {
  absent,
  bool,
  chatId,
  FieldError,
  groupChat,
  media,
  optionalSeq,
  optionalText,
  positiveSeq,
  requestId,
  seq,
  text,
  userId,
  type FrameParsers,
  type Fields,
} from "./validate-fields.ts";

const MAX_CID_LENGTH = 128;
const MAX_KIND_LENGTH = 32;
const KIND_PATTERN = /^[a-z][a-z0-9_.-]*$/;
/** Kinds the server writes itself; a client cannot send them. */
const RESERVED_KINDS = new Set(["system", "edit", "delete", "react", "call"]);
const MAX_EMOJI_LENGTH = 32;

export type MessagingFrame = SendFrame | MessageOperationFrame | AckFrame | ReadFrame | HistoryRequestFrame | ReceiptsRequestFrame | TypingRequestFrame;

function body(fields: Fields): Body {
  const value = fields.body;
  if (typeof value === "string" || value instanceof Uint8Array) return value;
  throw new FieldError("`body` must be bytes or a string");
}

function send(fields: Fields): SendFrame {
  const kind = optionalText(fields, "kind", MAX_KIND_LENGTH, KIND_PATTERN);
  if (kind !== undefined && RESERVED_KINDS.has(kind)) throw new FieldError(`\`kind\` "${kind}" is reserved for the server`);
  const reply = optionalSeq(fields, "reply");
  if (reply === 0) throw new FieldError("`reply` must name a seq of at least 1");
  const hasTo = !absent(fields.to);
  const hasGroup = !absent(fields.group);
  if (hasTo === hasGroup) throw new FieldError("a send names exactly one of `to` (a user) and `group` (a group chat)");
  const hasMedia = !absent(fields.media);
  if (hasMedia !== (kind === "media")) throw new FieldError("`kind: \"media\"` and a `media` field go together");
  return {
    t: "send",
    r: requestId(fields),
    cid: text(fields, "cid", MAX_CID_LENGTH),
    to: hasTo ? userId(fields, "to") : undefined,
    group: hasGroup ? groupChat(fields, "group") : undefined,
    body: body(fields),
    kind,
    reply,
    media: hasMedia ? media(fields) : undefined,
  };
}

function react(fields: Fields): Extract<MessageOperationFrame, { t: "react" }> {
  const emoji = fields.emoji;
  if (typeof emoji !== "string" || emoji.length > MAX_EMOJI_LENGTH) {
    throw new FieldError(`\`emoji\` must be a string of at most ${MAX_EMOJI_LENGTH} characters ("" removes the reaction)`);
  }
  return { t: "react", r: requestId(fields), chat: chatId(fields), seq: positiveSeq(fields, "seq"), emoji };
}

function history(fields: Fields): HistoryRequestFrame {
  const limit = optionalSeq(fields, "limit");
  if (limit !== undefined && (limit < 1 || limit > HISTORY_MAX_LIMIT)) throw new FieldError(`\`limit\` must be 1-${HISTORY_MAX_LIMIT}`);
  return { t: "history", r: requestId(fields), chat: chatId(fields), before: optionalSeq(fields, "before"), limit };
}

/** A chat's messages and what is done with them: sending, changing, reading, typing. */
export const MESSAGING_PARSERS: FrameParsers<MessagingFrame> = {
  send,
  edit: (fields) => ({ t: "edit", r: requestId(fields), chat: chatId(fields), seq: positiveSeq(fields, "seq"), body: body(fields) }),
  delete: (fields) => ({ t: "delete", r: requestId(fields), chat: chatId(fields), seq: positiveSeq(fields, "seq") }),
  react,
  ack: (fields) => ({ t: "ack", chat: chatId(fields), seq: seq(fields, "seq") }),
  read: (fields) => ({ t: "read", chat: chatId(fields), seq: seq(fields, "seq") }),
  history,
  receipts: (fields) => ({ t: "receipts", r: requestId(fields), chat: chatId(fields), seq: positiveSeq(fields, "seq") }),
  typing: (fields) => ({ t: "typing", chat: chatId(fields), on: bool(fields, "on") }),
};
