import {
  isUserId,
  type Body,
  type MediaRef,
  type StatusAudienceField,
  type StatusKind,
  type StatusListRequestFrame,
  type StatusPostFrame,
  type StatusRequestFrame,
  type StatusViewersRequestFrame,
  type StatusViewFrame,
} from "./frames.ts";
import { absent, FieldError, isUnsigned, media, requestId, type FrameParsers, type Fields } from "./validate-fields.ts";

/** Status ids are server-made: 9 base-36 digits of post time, then 12 random characters. */
export const STATUS_ID_PATTERN = /^[0-9a-z]{21}$/;
/** Largest explicit audience (allow or deny list) of one status. */
export const MAX_STATUS_AUDIENCE = 5000;
/** A `text` status's body and any plain caption, in characters. */
export const MAX_STATUS_TEXT = 1024;
/** A `cipher` body or caption (bytes or a string), in bytes or characters: room for padding and a MAC. */
export const MAX_STATUS_CIPHER = 16 * 1024;
/** Posters a client may name in one `status.list`. */
export const MAX_STATUS_LIST_POSTERS = 1000;
export const STATUS_VIEWERS_DEFAULT_LIMIT = 100;
export const STATUS_VIEWERS_MAX_LIMIT = 500;

const KINDS: readonly StatusKind[] = ["text", "image", "video", "cipher"];

function size(value: Body): number {
  return typeof value === "string" ? value.length : value.byteLength;
}

function id(fields: Fields): string {
  if (typeof fields.id !== "string" || !STATUS_ID_PATTERN.test(fields.id)) throw new FieldError("`id` must be a status id from `status.posted`");
  return fields.id;
}

function users(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_STATUS_AUDIENCE) throw new FieldError(`\`${name}\` must be an array of at most ${MAX_STATUS_AUDIENCE} user ids`);
  for (const user of value) if (!isUserId(user)) throw new FieldError(`\`${name}\` holds something that is not a user id`);
  return [...new Set(value as string[])];
}

/** Whether `value` is a body a status of `kind` may carry: cipher ones bytes or a string, others a string. */
function bodyOfKind(value: unknown, kind: StatusKind, max: number): value is Body {
  const ok = kind === "cipher" ? typeof value === "string" || value instanceof Uint8Array : typeof value === "string";
  return ok && size(value as Body) > 0 && size(value as Body) <= max;
}

/** Absent, or without `allow`: the poster's contacts (minus `deny`). */
function audience(fields: Fields): StatusAudienceField {
  const value = fields.audience;
  const audience: StatusAudienceField = {};
  if (absent(value)) return audience;
  if (typeof value !== "object" || Array.isArray(value) || value instanceof Uint8Array) throw new FieldError("`audience` must be a map {allow?, deny?}");
  const given = value as Fields;
  if (!absent(given.allow)) audience.allow = users(given.allow, "audience.allow");
  if (!absent(given.deny)) audience.deny = users(given.deny, "audience.deny");
  return audience;
}

function post(fields: Fields): StatusPostFrame {
  const kind = fields.kind;
  if (typeof kind !== "string" || !(KINDS as readonly string[]).includes(kind)) throw new FieldError("`kind` must be text, image, video or cipher");
  const known = kind as StatusKind;
  const max = known === "cipher" ? MAX_STATUS_CIPHER : MAX_STATUS_TEXT;
  let body: Body | undefined;
  let ref: MediaRef | undefined;
  if (known === "image" || known === "video") {
    if (!absent(fields.body)) throw new FieldError("an image or video status carries `media`, not `body`");
    if (absent(fields.media)) throw new FieldError("an image or video status needs `media`");
    ref = media(fields);
  } else {
    if (!absent(fields.media)) throw new FieldError("a text or cipher status carries `body`, not `media`");
    if (!bodyOfKind(fields.body, known, max)) {
      throw new FieldError(known === "cipher" ? `\`body\` must be 1-${max} bytes (or characters)` : `\`body\` must be a string of 1-${max} characters`);
    }
    body = fields.body;
  }
  let caption: Body | undefined;
  if (!absent(fields.caption)) {
    if (!bodyOfKind(fields.caption, known, max)) throw new FieldError(`\`caption\` must be 1-${max} characters${known === "cipher" ? " or bytes" : ""}`);
    caption = fields.caption;
  }
  const audienceField = audience(fields);
  return { t: "status.post", r: requestId(fields), kind: known, body, media: ref, caption, audience: audienceField };
}

function list(fields: Fields): StatusListRequestFrame {
  if (absent(fields.posters)) return { t: "status.list", r: requestId(fields) };
  const posters = fields.posters;
  if (!Array.isArray(posters) || posters.length > MAX_STATUS_LIST_POSTERS) throw new FieldError(`\`posters\` must be an array of at most ${MAX_STATUS_LIST_POSTERS} user ids`);
  for (const user of posters) if (!isUserId(user)) throw new FieldError("`posters` holds something that is not a user id");
  return { t: "status.list", r: requestId(fields), posters: [...new Set(posters as string[])] };
}

function view(fields: Fields): StatusViewFrame {
  if (!isUserId(fields.poster)) throw new FieldError("`poster` must be a user id");
  return { t: "status.view", r: absent(fields.r) ? undefined : requestId(fields), poster: fields.poster, id: id(fields) };
}

function viewers(fields: Fields): StatusViewersRequestFrame {
  let limit: number | undefined;
  if (!absent(fields.limit)) {
    if (!isUnsigned(fields.limit) || fields.limit < 1 || fields.limit > STATUS_VIEWERS_MAX_LIMIT) throw new FieldError(`\`limit\` must be 1-${STATUS_VIEWERS_MAX_LIMIT}`);
    limit = fields.limit;
  }
  let after: string | undefined;
  if (!absent(fields.after)) {
    if (!isUserId(fields.after)) throw new FieldError("`after` must be a user id (the last of the previous page)");
    after = fields.after;
  }
  return { t: "status.viewers", r: requestId(fields), id: id(fields), after, limit };
}

/** Status updates: posting, listing, viewing, who viewed, deleting. */
export const STATUS_PARSERS: FrameParsers<StatusRequestFrame> = {
  "status.post": post,
  "status.list": list,
  "status.view": view,
  "status.viewers": viewers,
  "status.delete": (fields) => ({ t: "status.delete", r: requestId(fields), id: id(fields) }),
};
