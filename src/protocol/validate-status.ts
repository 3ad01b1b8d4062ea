import { isUserId, type Body, type MediaRef, type StatusAudienceField, type StatusKind, type StatusRequestFrame } from "./frames.ts";

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

type Fields = Record<string, unknown>;

function absent(value: unknown): value is undefined | null {
  return value === undefined || value === null;
}

function isUnsigned(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function size(value: Body): number {
  return typeof value === "string" ? value.length : value.byteLength;
}

/** `status.*` frames; `fail` builds the validator's field error; `media` parses the frame's `media` map. */
export function parseStatusFrame(fields: Fields, fail: (msg: string) => Error, media: () => MediaRef): StatusRequestFrame {
  const r = (): number => {
    if (!isUnsigned(fields.r)) throw fail("`r` must be an unsigned integer");
    return fields.r;
  };
  const id = (): string => {
    if (typeof fields.id !== "string" || !STATUS_ID_PATTERN.test(fields.id)) throw fail("`id` must be a status id from `status.posted`");
    return fields.id;
  };
  const users = (value: unknown, name: string): string[] => {
    if (!Array.isArray(value) || value.length > MAX_STATUS_AUDIENCE) throw fail(`\`${name}\` must be an array of at most ${MAX_STATUS_AUDIENCE} user ids`);
    for (const user of value) if (!isUserId(user)) throw fail(`\`${name}\` holds something that is not a user id`);
    return [...new Set(value as string[])];
  };
  switch (fields.t) {
    case "status.post":
      return parseStatusPost(fields, fail, media, { r, users });
    case "status.list": {
      if (absent(fields.posters)) return { t: "status.list", r: r() };
      const posters = fields.posters;
      if (!Array.isArray(posters) || posters.length > MAX_STATUS_LIST_POSTERS) throw fail(`\`posters\` must be an array of at most ${MAX_STATUS_LIST_POSTERS} user ids`);
      for (const user of posters) if (!isUserId(user)) throw fail("`posters` holds something that is not a user id");
      return { t: "status.list", r: r(), posters: [...new Set(posters as string[])] };
    }
    case "status.view": {
      if (!isUserId(fields.poster)) throw fail("`poster` must be a user id");
      return { t: "status.view", r: absent(fields.r) ? undefined : r(), poster: fields.poster, id: id() };
    }
    case "status.viewers": {
      let limit: number | undefined;
      if (!absent(fields.limit)) {
        if (!isUnsigned(fields.limit) || fields.limit < 1 || fields.limit > STATUS_VIEWERS_MAX_LIMIT) throw fail(`\`limit\` must be 1-${STATUS_VIEWERS_MAX_LIMIT}`);
        limit = fields.limit;
      }
      let after: string | undefined;
      if (!absent(fields.after)) {
        if (!isUserId(fields.after)) throw fail("`after` must be a user id (the last of the previous page)");
        after = fields.after;
      }
      return { t: "status.viewers", r: r(), id: id(), after, limit };
    }
    case "status.delete":
      return { t: "status.delete", r: r(), id: id() };
    default:
      throw fail("unknown status frame");
  }
}

/** `status.post`: a text or cipher `body`, or image or video `media`; a caption; an audience. */
function parseStatusPost(
  fields: Fields,
  fail: (msg: string) => Error,
  media: () => MediaRef,
  read: { r(): number; users(value: unknown, name: string): string[] },
): StatusRequestFrame {
  const kind = fields.kind;
  if (typeof kind !== "string" || !(KINDS as readonly string[]).includes(kind)) throw fail("`kind` must be text, image, video or cipher");
  const max = kind === "cipher" ? MAX_STATUS_CIPHER : MAX_STATUS_TEXT;
  const bodyValue = fields.body;
  let body: Body | undefined;
  let ref: MediaRef | undefined;
  if (kind === "image" || kind === "video") {
    if (!absent(bodyValue)) throw fail("an image or video status carries `media`, not `body`");
    if (absent(fields.media)) throw fail("an image or video status needs `media`");
    ref = media();
  } else {
    if (!absent(fields.media)) throw fail("a text or cipher status carries `body`, not `media`");
    const ok = kind === "cipher" ? typeof bodyValue === "string" || bodyValue instanceof Uint8Array : typeof bodyValue === "string";
    if (!ok || size(bodyValue as Body) === 0 || size(bodyValue as Body) > max) {
      throw fail(kind === "cipher" ? `\`body\` must be 1-${max} bytes (or characters)` : `\`body\` must be a string of 1-${max} characters`);
    }
    body = bodyValue as Body;
  }
  let caption: Body | undefined;
  if (!absent(fields.caption)) {
    const value = fields.caption;
    const ok = kind === "cipher" ? typeof value === "string" || value instanceof Uint8Array : typeof value === "string";
    if (!ok || size(value as Body) === 0 || size(value as Body) > max) throw fail(`\`caption\` must be 1-${max} characters${kind === "cipher" ? " or bytes" : ""}`);
    caption = value as Body;
  }
  // Absent, or without `allow`: the poster's contacts (minus `deny`).
  const audienceValue = fields.audience;
  const audience: StatusAudienceField = {};
  if (!absent(audienceValue)) {
    if (typeof audienceValue !== "object" || Array.isArray(audienceValue) || audienceValue instanceof Uint8Array) {
      throw fail("`audience` must be a map {allow?, deny?}");
    }
    const given = audienceValue as Fields;
    if (!absent(given.allow)) audience.allow = read.users(given.allow, "audience.allow");
    if (!absent(given.deny)) audience.deny = read.users(given.deny, "audience.deny");
  }
  return { t: "status.post", r: read.r(), kind: kind as StatusKind, body, media: ref, caption, audience };
}
