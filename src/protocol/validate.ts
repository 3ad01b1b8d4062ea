import {
  DEVICE_ID_PATTERN,
  directChatMembers,
  HISTORY_MAX_LIMIT,
  CHATS_MAX_LIMIT,
  MAX_CHATS_CURSOR_LENGTH,
  INVITE_PATTERN,
  isGroupChat,
  isUserId,
  MEDIA_ID_PATTERN,
  type ClientFrame,
  type MediaRef,
  type ErrorCode,
  type PrivacyAudience,
} from "./frames.ts";
import { parseKeysFrame } from "./validate-keys.ts";
import { parsePushFrame } from "./validate-push.ts";
import { parseCallFrame } from "./validate-calls.ts";
import { parseStatusFrame } from "./validate-status.ts";
import { parseContactsFrame } from "./validate-contacts.ts";

/** Longest profile name and about text (`profile.set`), in characters. */
export const MAX_PROFILE_NAME_LENGTH = 64;
export const MAX_PROFILE_ABOUT_LENGTH = 140;

/** Why an inbound frame was refused, with the request id when the frame carried a usable one. */
export interface FrameRejection {
  ok: false;
  code: ErrorCode;
  msg: string;
  r?: number;
}

export type Validated = { ok: true; frame: ClientFrame } | FrameRejection;

const MAX_CID_LENGTH = 128;
const MAX_KIND_LENGTH = 32;
const MAX_CHAT_ID_LENGTH = 160;
const KIND_PATTERN = /^[a-z][a-z0-9_.-]*$/;
/** Kinds the server writes itself; a client cannot send them. */
const RESERVED_KINDS = new Set(["system", "edit", "delete", "react", "call"]);
const MAX_GROUP_NAME_LENGTH = 100;
const MAX_EMOJI_LENGTH = 32;
/** Longest user list in one frame (watch, group.create, group.add). */
export const MAX_USER_LIST = 1000;

type Fields = Record<string, unknown>;

class FieldError extends Error {}

function isRequestId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isSeq(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function requestId(fields: Fields): number {
  if (!isRequestId(fields.r)) throw new FieldError("`r` must be an unsigned integer");
  return fields.r;
}

function text(fields: Fields, name: string, maxLength: number, pattern?: RegExp): string {
  const value = fields[name];
  if (typeof value !== "string" || value.length === 0 || value.length > maxLength) {
    throw new FieldError(`\`${name}\` must be a string of 1-${maxLength} characters`);
  }
  if (pattern && !pattern.test(value)) throw new FieldError(`\`${name}\` has characters that are not allowed`);
  return value;
}

/**
 * Any non-empty string: a token's length is checked with the token itself, so an overlong
 * one is `unauthorized` (and closes a connection saying hello) like any other bad token.
 */
function token(fields: Fields): string {
  const value = fields.token;
  if (typeof value !== "string" || value.length === 0) throw new FieldError("`token` must be a non-empty string");
  return value;
}

function optionalText(fields: Fields, name: string, maxLength: number, pattern?: RegExp): string | undefined {
  return fields[name] === undefined || fields[name] === null ? undefined : text(fields, name, maxLength, pattern);
}

function userId(fields: Fields, name: string): string {
  const value = fields[name];
  if (!isUserId(value)) throw new FieldError(`\`${name}\` must be a user id (1-64 of A-Za-z0-9_.@+-)`);
  return value;
}

function seq(fields: Fields, name: string): number {
  const value = fields[name];
  if (!isSeq(value)) throw new FieldError(`\`${name}\` must be an unsigned integer`);
  return value;
}

function optionalSeq(fields: Fields, name: string): number | undefined {
  return fields[name] === undefined || fields[name] === null ? undefined : seq(fields, name);
}

function bool(fields: Fields, name: string): boolean {
  const value = fields[name];
  if (typeof value !== "boolean") throw new FieldError(`\`${name}\` must be a boolean`);
  return value;
}

function userList(fields: Fields, name: string, allowEmpty: boolean): string[] {
  const value = fields[name];
  if (!Array.isArray(value) || value.length > MAX_USER_LIST || (!allowEmpty && value.length === 0)) {
    throw new FieldError(`\`${name}\` must be an array of ${allowEmpty ? 0 : 1}-${MAX_USER_LIST} user ids`);
  }
  for (const user of value) if (!isUserId(user)) throw new FieldError(`\`${name}\` holds something that is not a user id`);
  return [...new Set(value as string[])];
}

function groupChat(fields: Fields, name = "chat"): string {
  const value = fields[name];
  if (typeof value !== "string" || !isGroupChat(value)) throw new FieldError(`\`${name}\` must be a group chat id (g:...)`);
  return value;
}

function chatId(fields: Fields): string {
  const value = text(fields, "chat", MAX_CHAT_ID_LENGTH);
  if (!isGroupChat(value) && !directChatMembers(value)) throw new FieldError("`chat` is not a chat id");
  return value;
}

function positiveSeq(fields: Fields, name: string): number {
  const value = seq(fields, name);
  if (value === 0) throw new FieldError(`\`${name}\` must be at least 1`);
  return value;
}

function body(fields: Fields): Uint8Array | string {
  const value = fields.body;
  if (typeof value === "string" || value instanceof Uint8Array) return value;
  throw new FieldError("`body` must be bytes or a string");
}

const MAX_MIME_LENGTH = 127;
/** type/subtype with RFC 6838 characters; parameters (`; charset=...`) allowed after. */
const MIME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(;[ -~]*)?$/;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;
/** A thumbnail must leave room for the rest of the frame inside the 64 KiB default. */
const MAX_THUMB_BYTES = 32 * 1024;

function media(fields: Fields): MediaRef {
  const value = fields.media;
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new FieldError("`media` must be a map {id, mime, size, sha256, thumb?}");
  }
  const ref = value as Fields;
  const id = ref.id;
  if (typeof id !== "string" || !MEDIA_ID_PATTERN.test(id)) throw new FieldError("`media.id` must be a media id from POST /media");
  const mime = ref.mime;
  if (typeof mime !== "string" || mime.length > MAX_MIME_LENGTH || !MIME_PATTERN.test(mime)) {
    throw new FieldError("`media.mime` must be a content type (type/subtype)");
  }
  if (!isSeq(ref.size)) throw new FieldError("`media.size` must be an unsigned integer");
  const sha256 = ref.sha256;
  if (typeof sha256 !== "string" || !SHA256_PATTERN.test(sha256)) throw new FieldError("`media.sha256` must be 64 lowercase hex characters");
  const thumb = ref.thumb;
  if (thumb !== undefined && thumb !== null && (!(thumb instanceof Uint8Array) || thumb.byteLength > MAX_THUMB_BYTES)) {
    throw new FieldError(`\`media.thumb\` must be bytes, at most ${MAX_THUMB_BYTES}`);
  }
  return { id, mime, size: ref.size, sha256, thumb: thumb instanceof Uint8Array ? thumb : undefined };
}

/** An optional profile text: "" clears the field; otherwise 1-maxLength characters without control characters. */
function profileText(fields: Fields, name: string, maxLength: number): string | undefined {
  if (fields[name] === "") return "";
  // eslint-disable-next-line no-control-regex
  return optionalText(fields, name, maxLength, /^[^\u0000-\u001f\u007f]*$/u);
}

function optionalAudience(fields: Fields, name: string): PrivacyAudience | undefined {
  const value = fields[name];
  if (value === undefined || value === null) return undefined;
  if (value === "everyone" || value === "contacts" || value === "nobody") return value;
  throw new FieldError(`\`${name}\` must be "everyone", "contacts" or "nobody"`);
}

function parse(fields: Fields): ClientFrame {
  switch (fields.t) {
    case "hello":
      return {
        t: "hello",
        r: requestId(fields),
        token: token(fields),
        device: optionalText(fields, "device", 64, DEVICE_ID_PATTERN),
      };
    case "refresh":
      return { t: "refresh", r: requestId(fields), token: token(fields) };
    case "send": {
      const kind = optionalText(fields, "kind", MAX_KIND_LENGTH, KIND_PATTERN);
      if (kind !== undefined && RESERVED_KINDS.has(kind)) throw new FieldError(`\`kind\` "${kind}" is reserved for the server`);
      const reply = optionalSeq(fields, "reply");
      if (reply === 0) throw new FieldError("`reply` must name a seq of at least 1");
      const hasTo = fields.to !== undefined && fields.to !== null;
      const hasGroup = fields.group !== undefined && fields.group !== null;
      if (hasTo === hasGroup) throw new FieldError("a send names exactly one of `to` (a user) and `group` (a group chat)");
      const hasMedia = fields.media !== undefined && fields.media !== null;
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
    case "group.create":
      return { t: "group.create", r: requestId(fields), name: text(fields, "name", MAX_GROUP_NAME_LENGTH), members: userList(fields, "members", true) };
    case "group.add":
      return { t: "group.add", r: requestId(fields), chat: groupChat(fields), users: userList(fields, "users", false) };
    case "group.remove":
      return { t: "group.remove", r: requestId(fields), chat: groupChat(fields), user: userId(fields, "user") };
    case "group.leave":
      return { t: "group.leave", r: requestId(fields), chat: groupChat(fields) };
    case "group.info":
      return { t: "group.info", r: requestId(fields), chat: groupChat(fields) };
    case "group.admin":
      return { t: "group.admin", r: requestId(fields), chat: groupChat(fields), user: userId(fields, "user"), admin: bool(fields, "admin") };
    case "group.join":
      return { t: "group.join", r: requestId(fields), chat: groupChat(fields), invite: text(fields, "invite", 32, INVITE_PATTERN) };
    case "privacy.set":
      return {
        t: "privacy.set",
        r: requestId(fields),
        last_seen: optionalAudience(fields, "last_seen"),
        online: optionalAudience(fields, "online"),
        groups: optionalAudience(fields, "groups"),
        profile: optionalAudience(fields, "profile"),
      };
    case "privacy.get":
      return { t: "privacy.get", r: requestId(fields) };
    case "profile.set":
      return {
        t: "profile.set",
        r: requestId(fields),
        name: profileText(fields, "name", MAX_PROFILE_NAME_LENGTH),
        about: profileText(fields, "about", MAX_PROFILE_ABOUT_LENGTH),
        photo: fields.photo === "" ? "" : optionalText(fields, "photo", 32, MEDIA_ID_PATTERN),
      };
    case "account.delete":
      return { t: "account.delete", r: requestId(fields) };
    case "profile.get":
      return { t: "profile.get", r: requestId(fields), user: userId(fields, "user") };
    case "chats": {
      const limit = optionalSeq(fields, "limit");
      if (limit !== undefined && (limit < 1 || limit > CHATS_MAX_LIMIT)) throw new FieldError(`\`limit\` must be 1-${CHATS_MAX_LIMIT}`);
      return { t: "chats", r: requestId(fields), after: optionalText(fields, "after", MAX_CHATS_CURSOR_LENGTH), limit };
    }
    case "receipts":
      return { t: "receipts", r: requestId(fields), chat: chatId(fields), seq: positiveSeq(fields, "seq") };
    case "watch":
      return { t: "watch", r: fields.r === undefined || fields.r === null ? undefined : requestId(fields), users: userList(fields, "users", true) };
    case "typing":
      return { t: "typing", chat: chatId(fields), on: bool(fields, "on") };
    case "edit":
      return { t: "edit", r: requestId(fields), chat: chatId(fields), seq: positiveSeq(fields, "seq"), body: body(fields) };
    case "delete":
      return { t: "delete", r: requestId(fields), chat: chatId(fields), seq: positiveSeq(fields, "seq") };
    case "react": {
      const emoji = fields.emoji;
      if (typeof emoji !== "string" || emoji.length > MAX_EMOJI_LENGTH) {
        throw new FieldError(`\`emoji\` must be a string of at most ${MAX_EMOJI_LENGTH} characters ("" removes the reaction)`);
      }
      return { t: "react", r: requestId(fields), chat: chatId(fields), seq: positiveSeq(fields, "seq"), emoji };
    }
    case "ack":
      return { t: "ack", chat: chatId(fields), seq: seq(fields, "seq") };
    case "read":
      return { t: "read", chat: chatId(fields), seq: seq(fields, "seq") };
    case "history": {
      const limit = optionalSeq(fields, "limit");
      if (limit !== undefined && (limit < 1 || limit > HISTORY_MAX_LIMIT)) {
        throw new FieldError(`\`limit\` must be 1-${HISTORY_MAX_LIMIT}`);
      }
      return {
        t: "history",
        r: requestId(fields),
        chat: chatId(fields),
        before: optionalSeq(fields, "before"),
        limit,
      };
    }
    case "ping":
      return { t: "ping", r: requestId(fields) };
    case "keys.put":
    case "keys.get":
      return parseKeysFrame(fields, (msg) => new FieldError(msg));
    case "push.register":
    case "push.unregister":
    case "push.mute":
    case "push.dnd":
      return parsePushFrame(fields, (msg) => new FieldError(msg));
    case "contacts.sync":
    case "contacts.add":
    case "contacts.remove":
    case "contacts.list":
    case "block":
    case "unblock":
    case "blocks":
      return parseContactsFrame(fields, (msg) => new FieldError(msg));
    case "call.offer":
    case "call.answer":
    case "call.ice":
    case "call.ringing":
    case "call.reject":
    case "call.end":
    case "call.join":
    case "call.turn":
      return parseCallFrame(fields, (msg) => new FieldError(msg));
    case "status.post":
    case "status.list":
    case "status.view":
    case "status.viewers":
    case "status.delete":
      return parseStatusFrame(fields, (msg) => new FieldError(msg), () => media(fields));
    default:
      throw new UnknownTypeError();
  }
}

class UnknownTypeError extends Error {}

/**
 * Checks one decoded value against the frame union. Nothing reaches an actor without passing
 * here; the result is a fresh object holding only known fields.
 */
export function validateFrame(value: unknown): Validated {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    return { ok: false, code: "bad_frame", msg: "a frame is a MessagePack map" };
  }
  const fields = value as Fields;
  const r = isRequestId(fields.r) ? fields.r : undefined;
  if (typeof fields.t !== "string") return { ok: false, code: "bad_frame", msg: "a frame needs a string `t`", r };
  try {
    return { ok: true, frame: parse(fields) };
  } catch (error) {
    if (error instanceof UnknownTypeError) {
      return { ok: false, code: "unknown_type", msg: `unknown frame type ${JSON.stringify(fields.t.slice(0, 32))}`, r };
    }
    if (error instanceof FieldError) return { ok: false, code: "invalid_field", msg: error.message, r };
    throw error;
  }
}
