import { CLIENT_FRAME_TYPES } from "../../src/protocol/validate.ts";
import type { Rng } from "./prng.ts";

/** What a generator knows about the run: who exists, which groups were created, valid tokens. */
export interface FuzzContext {
  rng: Rng;
  /** The user of the connection the frame goes to (a pre-hello connection has one too). */
  self: string;
  /** Users that have (or had) connections: sends to them are delivered, not just stored. */
  users: readonly string[];
  /** Group chats the fuzz connections created (their `group` answers), oldest first. */
  groups: string[];
  /** Valid tokens for users of their own, so a `hello` can succeed. */
  tokens: readonly string[];
}

type Gen = (c: FuzzContext) => unknown;

/**
 * A frame type as the fuzzer builds it valid: each field's generator, and which fields are
 * optional (left out half the time). One entry per inbound frame type; a type that
 * validate.ts knows and this table does not is still fuzzed, with GENERIC_SHAPE.
 */
export interface FrameShape {
  fields: Record<string, Gen>;
  optional?: readonly string[];
}

// ---- field generators ----------------------------------------------------------

const r: Gen = (c) => c.rng.int(1_000_000);
const user: Gen = (c) => (c.rng.chance(0.9) ? c.rng.pick(c.users) : `u${c.rng.string(c.rng.range(1, 12))}`);
const userList = (max: number): Gen => (c) => Array.from({ length: c.rng.int(max + 1) }, () => user(c));
const direct = (c: FuzzContext): string => {
  const other = String(user(c));
  return other < c.self ? `d:${other}:${c.self}` : `d:${c.self}:${other}`;
};
const group: Gen = (c) => (c.groups.length > 0 && c.rng.chance(0.8) ? c.rng.pick(c.groups) : `g:${c.rng.string(c.rng.range(8, 20))}`);
const chat: Gen = (c) => (c.rng.chance(0.6) ? direct(c) : group(c));
const seq: Gen = (c) => (c.rng.chance(0.8) ? c.rng.range(1, 50) : c.rng.int(2 ** 31));
const body: Gen = (c) => (c.rng.chance(0.5) ? c.rng.string(c.rng.int(200)) : c.rng.bytes(c.rng.int(300)));
const bool: Gen = (c) => c.rng.chance(0.5);
const word = (max: number): Gen => (c) => c.rng.string(c.rng.range(1, max));
const bytes = (max: number): Gen => (c) => c.rng.bytes(c.rng.range(1, max));
const keyId: Gen = (c) => c.rng.int(2 ** 24);
const signedKey: Gen = (c) => ({ id: keyId(c), key: bytes(33)(c), sig: bytes(64)(c) });
const hex = (c: FuzzContext, n: number) => c.rng.string(n, "0123456789abcdef");
const media: Gen = (c) => ({ id: hex(c, 32), mime: c.rng.pick(["image/png", "video/mp4", "text/html"]), size: c.rng.int(1e6), sha256: hex(c, 64) });

const statusId: Gen = (c) => c.rng.string(21, "0123456789abcdefghijklmnopqrstuvwxyz");

export const FRAME_SHAPES: Record<string, FrameShape> = {
  hello: { fields: { r, token: (c) => (c.rng.chance(0.7) ? c.rng.pick(c.tokens) : c.rng.string(40)), device: word(10) }, optional: ["device"] },
  send: {
    fields: { r, cid: word(20), to: user, body, kind: (c) => c.rng.pick(["text", "image", "x.y"]), reply: seq },
    optional: ["kind", "reply"],
  },
  "send.group": { fields: { t: () => "send", r, cid: word(20), group, body } },
  "send.media": { fields: { t: () => "send", r, cid: word(20), to: user, body, kind: () => "media", media } },
  ack: { fields: { chat, seq } },
  read: { fields: { chat, seq } },
  history: { fields: { r, chat, before: seq, limit: (c) => c.rng.range(1, 200) }, optional: ["before", "limit"] },
  ping: { fields: { r } },
  "group.create": { fields: { r, name: word(30), members: userList(8) } },
  "group.add": { fields: { r, chat: group, users: (c) => [user(c)] } },
  "group.remove": { fields: { r, chat: group, user } },
  "group.leave": { fields: { r, chat: group } },
  "group.info": { fields: { r, chat: group } },
  "group.admin": { fields: { r, chat: group, user, admin: bool } },
  receipts: { fields: { r, chat, seq } },
  watch: { fields: { r, users: userList(20) }, optional: ["r"] },
  typing: { fields: { chat, on: bool } },
  edit: { fields: { r, chat, seq, body } },
  delete: { fields: { r, chat, seq } },
  react: { fields: { r, chat, seq, emoji: (c) => c.rng.pick(["", "👍", "❤️", "x"]) } },
  "keys.put": {
    fields: { r, identity: bytes(33), signed: signedKey, prekeys: (c) => Array.from({ length: c.rng.int(10) }, (_, i) => ({ id: i, key: bytes(33)(c) })), kyber: signedKey, reg: keyId },
    optional: ["kyber", "reg"],
  },
  "keys.get": { fields: { r, user, device: word(10) }, optional: ["device"] },
  "push.register": { fields: { r, platform: (c) => c.rng.pick(["apns", "fcm", "webhook"]), token: word(64) } },
  "push.unregister": { fields: { r } },
  "push.mute": { fields: { r, chat, until: (c) => c.rng.int(2 ** 42) } },
  "status.post": {
    fields: {
      r,
      kind: (c) => c.rng.pick(["text", "cipher"]),
      body: (c) => c.rng.string(c.rng.range(1, 200)),
      caption: word(40),
      audience: (c) => ({ allow: userList(20)(c), ...(c.rng.chance(0.3) ? { deny: userList(3)(c) } : {}) }),
    },
    optional: ["caption"],
  },
  "status.post.media": { fields: { t: () => "status.post", r, kind: (c) => c.rng.pick(["image", "video"]), media, audience: (c) => ({ allow: userList(5)(c) }) } },
  "status.list": { fields: { r, posters: userList(10) }, optional: ["posters"] },
  "status.view": { fields: { r, poster: user, id: statusId }, optional: ["r"] },
  "status.viewers": { fields: { r, id: statusId, after: user, limit: (c) => c.rng.range(1, 500) }, optional: ["after", "limit"] },
  "status.delete": { fields: { r, id: statusId } },
  chats: { fields: { r, after: word(40), limit: (c) => c.rng.range(1, 250) }, optional: ["after", "limit"] },
  "profile.set": { fields: { r, name: word(70), about: word(150), photo: (c) => (c.rng.chance(0.5) ? "" : hex(c, 32)) }, optional: ["name", "about", "photo"] },
  "profile.get": { fields: { r, user } },
  "push.dnd": { fields: { r, start: (c) => c.rng.int(1441), end: (c) => c.rng.int(1441), tz: (c) => c.rng.pick(["UTC", "Europe/Berlin", "Nowhere/Atlantis"]) }, optional: ["tz"] },
};

/** For a frame type the table lacks: the fields frames usually carry, each present or not. */
export const GENERIC_SHAPE: FrameShape = {
  fields: { r, chat, user, users: userList(5), seq, body, name: word(20), on: bool },
  optional: ["chat", "user", "users", "seq", "body", "name", "on"],
};

/** Inbound frame types as the server's validators know them, so a frame added there is fuzzed without touching this file. */
export function discoverFrameTypes(): string[] {
  return [...CLIENT_FRAME_TYPES].sort();
}

/**
 * Validated types the fuzzer never sends: `account.delete` would void a fuzz user for the rest
 * of the run (its every later hello refused), which is the frame working, not a finding.
 * test/router/account-delete.test.ts covers its validation.
 */
export const NOT_FUZZED: ReadonlySet<string> = new Set(["account.delete"]);

/** Every shape to fuzz: the table's, plus a generic one for each discovered type it lacks. */
export function frameShapes(discovered: readonly string[]): { shapes: Map<string, FrameShape>; generic: string[] } {
  const shapes = new Map(Object.entries(FRAME_SHAPES));
  const generic = discovered.filter((t) => !shapes.has(t) && !NOT_FUZZED.has(t));
  for (const t of generic) shapes.set(t, GENERIC_SHAPE);
  return { shapes, generic };
}

/** A valid frame of `name` (a table key; the frame's `t` is the key unless the shape sets it). */
export function buildFrame(name: string, shape: FrameShape, c: FuzzContext): Record<string, unknown> {
  const frame: Record<string, unknown> = { t: name };
  for (const [field, gen] of Object.entries(shape.fields)) {
    if (shape.optional?.includes(field) && c.rng.chance(0.5)) continue;
    frame[field] = gen(c);
  }
  return frame;
}
