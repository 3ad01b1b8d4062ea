import { directChatMembers, isGroupChat, isUserId, MEDIA_ID_PATTERN, type MediaRef } from "./frames.ts";

// What every family of validators shares: the shape of a table of them, the field error they
// throw (validate.ts turns it into `invalid_field`), and the checks of fields more than one
// family reads.

/** A decoded frame before validation: a map of unknown values. */
export type Fields = Record<string, unknown>;

/**
 * One validator per frame type of `F`, keyed by its `t`: a family's table must name every
 * type of its union (and nothing else), so a frame added to frames.ts without a validator
 * does not compile.
 */
export type FrameParsers<F extends { t: string }> = { readonly [T in F["t"]]: (fields: Fields) => Extract<F, { t: T }> };

/** A field is missing, mistyped or out of range; its message is the client's `msg`. */
export class FieldError extends Error {}

const MAX_CHAT_ID_LENGTH = 160;
/** Longest user list in one frame (watch, group.create, group.add). */
export const MAX_USER_LIST = 1000;

export function absent(value: unknown): value is undefined | null {
  return value === undefined || value === null;
}

export function isUnsigned(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

export function requestId(fields: Fields): number {
  if (!isUnsigned(fields.r)) throw new FieldError("`r` must be an unsigned integer");
  return fields.r;
}

/** `r` where a frame may go unanswered: absent means no answer is wanted. */
export function optionalRequestId(fields: Fields): number | undefined {
  return absent(fields.r) ? undefined : requestId(fields);
}

export function text(fields: Fields, name: string, maxLength: number, pattern?: RegExp): string {
  const value = fields[name];
  if (typeof value !== "string" || value.length === 0 || value.length > maxLength) {
    throw new FieldError(`\`${name}\` must be a string of 1-${maxLength} characters`);
  }
  if (pattern && !pattern.test(value)) throw new FieldError(`\`${name}\` has characters that are not allowed`);
  return value;
}

export function optionalText(fields: Fields, name: string, maxLength: number, pattern?: RegExp): string | undefined {
  return absent(fields[name]) ? undefined : text(fields, name, maxLength, pattern);
}

export function userId(fields: Fields, name: string): string {
  const value = fields[name];
  if (!isUserId(value)) throw new FieldError(`\`${name}\` must be a user id (1-64 of A-Za-z0-9_.@+-)`);
  return value;
}

export function seq(fields: Fields, name: string): number {
  const value = fields[name];
  if (!isUnsigned(value)) throw new FieldError(`\`${name}\` must be an unsigned integer`);
  return value;
}

export function optionalSeq(fields: Fields, name: string): number | undefined {
  return absent(fields[name]) ? undefined : seq(fields, name);
}

export function positiveSeq(fields: Fields, name: string): number {
  const value = seq(fields, name);
  if (value === 0) throw new FieldError(`\`${name}\` must be at least 1`);
  return value;
}

export function bool(fields: Fields, name: string): boolean {
  const value = fields[name];
  if (typeof value !== "boolean") throw new FieldError(`\`${name}\` must be a boolean`);
  return value;
}

export function userList(fields: Fields, name: string, allowEmpty: boolean): string[] {
  const value = fields[name];
  if (!Array.isArray(value) || value.length > MAX_USER_LIST || (!allowEmpty && value.length === 0)) {
    throw new FieldError(`\`${name}\` must be an array of ${allowEmpty ? 0 : 1}-${MAX_USER_LIST} user ids`);
  }
  for (const user of value) if (!isUserId(user)) throw new FieldError(`\`${name}\` holds something that is not a user id`);
  return [...new Set(value as string[])];
}

export function groupChat(fields: Fields, name = "chat"): string {
  const value = fields[name];
  if (typeof value !== "string" || !isGroupChat(value)) throw new FieldError(`\`${name}\` must be a group chat id (g:...)`);
  return value;
}

/** Whether `value` names a chat: a group's id, or a well-formed direct chat's. */
export function isChatId(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_CHAT_ID_LENGTH && (isGroupChat(value) || directChatMembers(value) !== undefined);
}

export function chatId(fields: Fields): string {
  const value = text(fields, "chat", MAX_CHAT_ID_LENGTH);
  if (!isChatId(value)) throw new FieldError("`chat` is not a chat id");
  return value;
}

const MAX_MIME_LENGTH = 127;
/** type/subtype with RFC 6838 characters; parameters (`; charset=...`) allowed after. */
const MIME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(;[ -~]*)?$/;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;
/** A thumbnail must leave room for the rest of the frame inside the 64 KiB default. */
const MAX_THUMB_BYTES = 32 * 1024;

/** The `media` map of a message or a status: an object uploaded with `POST /media`. */
export function media(fields: Fields): MediaRef {
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
  if (!isUnsigned(ref.size)) throw new FieldError("`media.size` must be an unsigned integer");
  const sha256 = ref.sha256;
  if (typeof sha256 !== "string" || !SHA256_PATTERN.test(sha256)) throw new FieldError("`media.sha256` must be 64 lowercase hex characters");
  const thumb = ref.thumb;
  if (thumb !== undefined && thumb !== null && (!(thumb instanceof Uint8Array) || thumb.byteLength > MAX_THUMB_BYTES)) {
    throw new FieldError(`\`media.thumb\` must be bytes, at most ${MAX_THUMB_BYTES}`);
  }
  return { id, mime, size: ref.size, sha256, thumb: thumb instanceof Uint8Array ? thumb : undefined };
}
