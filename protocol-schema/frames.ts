/**
 * Every frame of protocol v1 as a schema, one per `t` and direction. The compiler holds each
 * to its type in src/protocol/frames.ts (the checks at the bottom): a `t` without a schema, a
 * schema without a `t`, or a field that differs does not compile. Limits and cross-field
 * rules (exactly one of `to` and `group`, sizes) are the validator's, src/protocol/validate.ts;
 * the schema says shapes.
 */
import {
  CHATS_MAX_LIMIT,
  DEVICE_ID_PATTERN,
  ERROR_CODES,
  GROUP_ID_PATTERN,
  HISTORY_MAX_LIMIT,
  INVITE_PATTERN,
  MEDIA_ID_PATTERN,
  USER_ID_PATTERN,
  type ClientFrame,
  type ErrorCode,
  type ServerFrame,
} from "../src/protocol/frames.ts";
import { CALL_ID_PATTERN } from "../src/protocol/validate-calls.ts";
import { STATUS_ID_PATTERN } from "../src/protocol/validate-status.ts";
import { anyOf, arr, bin, bool, int, lit, named, obj, oneOf, opt, record, str, uint, type Schema, type TypeOf } from "./schema.ts";

const r = uint;
const user = named("user", str({ pattern: USER_ID_PATTERN }));
const device = named("device", str({ pattern: DEVICE_ID_PATTERN }));
/** A direct chat (`d:a:b`) or a group (`g:...`). */
const chat = named("chat", str({ minLength: 1, maxLength: 160 }));
const group = named("group", str({ pattern: GROUP_ID_PATTERN }));
const call = named("call", str({ pattern: CALL_ID_PATTERN }));
const statusId = named("statusId", str({ pattern: STATUS_ID_PATTERN }));
const body = named("body", anyOf(str(), bin));
const users = arr(user);
const media = named(
  "MediaRef",
  obj({ id: str({ pattern: MEDIA_ID_PATTERN }), mime: str(), size: uint, sha256: str({ pattern: /^[0-9a-f]{64}$/ }), thumb: opt(bin) }),
);
const audience = named("PrivacyAudience", oneOf("everyone", "contacts", "nobody"));
const signedPreKey = named("SignedPreKey", obj({ id: uint, key: bin, sig: bin }));
const oneTimePreKey = named("OneTimePreKey", obj({ id: uint, key: bin }));
const statusKind = named("StatusKind", oneOf("text", "image", "video", "cipher"));
const errorCode = named("ErrorCode", oneOf(...(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]])));

const message = named(
  "msg",
  obj({
    t: lit("msg"),
    chat,
    seq: uint,
    from: user,
    ts: uint,
    body,
    kind: str(),
    reply: opt(uint),
    media: opt(media),
    edited: opt(uint),
    deleted: opt(bool),
    reactions: opt(record(str())),
  }),
);
const statusItem = named(
  "StatusItem",
  obj({
    id: statusId,
    kind: statusKind,
    body: opt(body),
    media: opt(media),
    caption: opt(body),
    ts: uint,
    expires: uint,
    seen: opt(bool),
    views: opt(uint),
  }),
);

/** Client to server, by `t`. */
export const CLIENT_FRAMES = {
  hello: obj({ t: lit("hello"), r, token: str({ maxLength: 4096 }), device: opt(device) }),
  refresh: obj({ t: lit("refresh"), r, token: str({ maxLength: 4096 }) }),
  send: obj({
    t: lit("send"),
    r,
    cid: str({ minLength: 1, maxLength: 128 }),
    to: opt(user),
    group: opt(group),
    body,
    kind: opt(str({ pattern: /^[a-z][a-z0-9_.-]*$/, maxLength: 32 })),
    reply: opt(uint),
    media: opt(media),
  }),
  ack: obj({ t: lit("ack"), chat, seq: uint }),
  read: obj({ t: lit("read"), chat, seq: uint }),
  history: obj({ t: lit("history"), r, chat, before: opt(uint), limit: opt(uint) }),
  ping: obj({ t: lit("ping"), r }),
  "group.create": obj({ t: lit("group.create"), r, name: str(), members: users }),
  "group.add": obj({ t: lit("group.add"), r, chat: group, users }),
  "group.remove": obj({ t: lit("group.remove"), r, chat: group, user }),
  "group.leave": obj({ t: lit("group.leave"), r, chat: group }),
  "group.info": obj({ t: lit("group.info"), r, chat: group }),
  "group.admin": obj({ t: lit("group.admin"), r, chat: group, user, admin: bool }),
  "group.join": obj({ t: lit("group.join"), r, chat: group, invite: str({ pattern: INVITE_PATTERN }) }),
  receipts: obj({ t: lit("receipts"), r, chat, seq: uint }),
  watch: obj({ t: lit("watch"), r: opt(r), users }),
  typing: obj({ t: lit("typing"), chat, on: bool }),
  edit: obj({ t: lit("edit"), r, chat, seq: uint, body }),
  delete: obj({ t: lit("delete"), r, chat, seq: uint }),
  react: obj({ t: lit("react"), r, chat, seq: uint, emoji: str() }),
  "keys.put": obj({ t: lit("keys.put"), r, identity: bin, signed: signedPreKey, prekeys: arr(oneTimePreKey), kyber: opt(signedPreKey), reg: opt(uint) }),
  "keys.get": obj({ t: lit("keys.get"), r, user, device: opt(device) }),
  "push.register": obj({ t: lit("push.register"), r, platform: oneOf("apns", "fcm", "webhook"), token: str() }),
  "push.unregister": obj({ t: lit("push.unregister"), r }),
  "push.mute": obj({ t: lit("push.mute"), r, chat, until: uint }),
  "push.dnd": obj({ t: lit("push.dnd"), r, start: opt(uint), end: opt(uint), tz: opt(str()) }),
  "privacy.set": obj({ t: lit("privacy.set"), r, last_seen: opt(audience), online: opt(audience), groups: opt(audience), profile: opt(audience) }),
  "privacy.get": obj({ t: lit("privacy.get"), r }),
  "contacts.sync": obj({ t: lit("contacts.sync"), r, phones: arr(str()) }),
  "contacts.add": obj({ t: lit("contacts.add"), r, users }),
  "contacts.remove": obj({ t: lit("contacts.remove"), r, users }),
  "contacts.list": obj({ t: lit("contacts.list"), r }),
  block: obj({ t: lit("block"), r, user }),
  unblock: obj({ t: lit("unblock"), r, user }),
  blocks: obj({ t: lit("blocks"), r }),
  "profile.set": obj({ t: lit("profile.set"), r, name: opt(str()), about: opt(str()), photo: opt(str()) }),
  "profile.get": obj({ t: lit("profile.get"), r, user }),
  "account.delete": obj({ t: lit("account.delete"), r }),
  chats: obj({ t: lit("chats"), r, after: opt(str()), limit: opt(uint) }),
  "call.offer": obj({ t: lit("call.offer"), r, call: opt(call), to: opt(user), group: opt(group), video: bool, sdp: opt(str()) }),
  "call.answer": obj({ t: lit("call.answer"), r: opt(r), call, sdp: str(), to: opt(user) }),
  "call.ice": obj({ t: lit("call.ice"), call, candidate: str(), to: opt(user) }),
  "call.ringing": obj({ t: lit("call.ringing"), call }),
  "call.reject": obj({ t: lit("call.reject"), r: opt(r), call, reason: oneOf("busy", "declined") }),
  "call.end": obj({ t: lit("call.end"), r: opt(r), call }),
  "call.join": obj({ t: lit("call.join"), r, call }),
  "call.turn": obj({ t: lit("call.turn"), r }),
  "status.post": obj({
    t: lit("status.post"),
    r,
    kind: statusKind,
    body: opt(body),
    media: opt(media),
    caption: opt(body),
    audience: opt(obj({ allow: opt(users), deny: opt(users) })),
  }),
  "status.list": obj({ t: lit("status.list"), r, posters: opt(users) }),
  "status.view": obj({ t: lit("status.view"), r: opt(r), poster: user, id: statusId }),
  "status.viewers": obj({ t: lit("status.viewers"), r, id: statusId, after: opt(user), limit: opt(uint) }),
  "status.delete": obj({ t: lit("status.delete"), r, id: statusId }),
} as const;

/** Server to client, by `t`. */
export const SERVER_FRAMES = {
  welcome: obj({ t: lit("welcome"), r, user, device, node: str(), ts: uint }),
  synced: obj({ t: lit("synced"), recovered: bool }),
  sent: obj({ t: lit("sent"), r, cid: opt(str()), chat, seq: uint, ts: uint }),
  msg: message,
  edit: obj({ t: lit("edit"), chat, seq: uint, body, by: user, ts: uint, pos: uint }),
  delete: obj({ t: lit("delete"), chat, seq: uint, by: user, ts: uint, pos: uint }),
  react: obj({ t: lit("react"), chat, seq: uint, user, emoji: str(), ts: uint, pos: uint }),
  skip: obj({ t: lit("skip"), chat, pos: uint }),
  group: obj({ t: lit("group"), r, chat: group, name: str(), members: users, admins: users, invited: opt(users) }),
  receipts: obj({ t: lit("receipts"), r, chat, seq: uint, members: uint, delivered: uint, read: uint }),
  presence: obj({ t: lit("presence"), user, online: opt(bool), last_seen: opt(uint), hidden: opt(lit(true)) }),
  typing: obj({ t: lit("typing"), chat, user, on: bool }),
  watching: obj({ t: lit("watching"), r, users: uint }),
  receipt: obj({ t: lit("receipt"), chat, user, delivered: opt(uint), read: opt(uint) }),
  history: obj({ t: lit("history"), r, chat, msgs: arr(message), more: bool }),
  pong: obj({ t: lit("pong"), r, ts: uint }),
  err: obj({ t: lit("err"), r: opt(r), code: errorCode, msg: str() }),
  "keys.ok": obj({ t: lit("keys.ok"), r, count: uint }),
  keys: obj({
    t: lit("keys"),
    r,
    user,
    bundles: arr(
      named("KeyBundle", obj({ device, identity: bin, signed: signedPreKey, prekey: opt(oneTimePreKey), kyber: opt(signedPreKey), reg: opt(uint) })),
    ),
  }),
  "keys.low": obj({ t: lit("keys.low"), device, count: uint }),
  "push.ok": obj({ t: lit("push.ok"), r }),
  refreshed: obj({ t: lit("refreshed"), r, exp: opt(uint) }),
  privacy: obj({ t: lit("privacy"), r, last_seen: audience, online: audience, groups: audience, profile: audience }),
  "group.invite": obj({ t: lit("group.invite"), chat: group, by: user, name: str(), invite: str({ pattern: INVITE_PATTERN }), expires: uint }),
  "contacts.found": obj({ t: lit("contacts.found"), r, users: arr(obj({ phone: str(), user })), left: int }),
  contacts: obj({ t: lit("contacts"), r, count: uint, users: opt(users) }),
  blocks: obj({ t: lit("blocks"), r, count: uint, users: opt(users) }),
  chats: obj({
    t: lit("chats"),
    r,
    chats: arr(named("ChatSummary", obj({ chat, last_seq: uint, last_ts: uint, unread: uint, name: opt(str()), members: opt(uint) }))),
    next: opt(str()),
  }),
  profile: obj({ t: lit("profile"), r, user, name: opt(str()), about: opt(str()), photo: opt(str()) }),
  "account.deleted": obj({ t: lit("account.deleted"), r }),
  "call.ok": obj({ t: lit("call.ok"), r, call }),
  "call.offer": obj({ t: lit("call.offer"), call, from: user, device, video: bool, sdp: opt(str()), group: opt(group) }),
  "call.answer": obj({ t: lit("call.answer"), call, from: user, device, sdp: str() }),
  "call.ice": obj({ t: lit("call.ice"), call, from: user, device, candidate: str() }),
  "call.ringing": obj({ t: lit("call.ringing"), call, user, device }),
  "call.answered_elsewhere": obj({ t: lit("call.answered_elsewhere"), call }),
  "call.end": obj({
    t: lit("call.end"),
    call,
    reason: oneOf("hangup", "missed", "declined", "busy", "failed"),
    by: opt(user),
    duration: opt(uint),
  }),
  "call.join": obj({ t: lit("call.join"), call, group, user, device, participants: users }),
  "call.leave": obj({ t: lit("call.leave"), call, group, user, participants: users }),
  "call.turn": obj({ t: lit("call.turn"), r, urls: arr(str()), username: str(), credential: str(), ttl: uint }),
  "status.posted": obj({ t: lit("status.posted"), r, id: statusId, ts: uint, expires: uint }),
  "status.list": obj({ t: lit("status.list"), r, posters: arr(obj({ poster: user, statuses: arr(statusItem) })), mine: arr(statusItem) }),
  "status.viewers": obj({ t: lit("status.viewers"), r, id: statusId, count: uint, viewers: arr(obj({ user, ts: uint })), more: bool }),
  "status.ok": obj({ t: lit("status.ok"), r }),
  "status.new": obj({ t: lit("status.new"), poster: user, id: statusId }),
  "status.viewed": obj({ t: lit("status.viewed"), id: statusId, by: user, ts: uint }),
} as const;

// ---- held to src/protocol/frames.ts by the compiler ---------------------------------

/** Types made comparable: objects flattened, bytes one type, optional fields kept optional. */
type Norm<T> = T extends Uint8Array ? Uint8Array : T extends ReadonlyArray<infer U> ? Norm<U>[] : T extends object ? { -readonly [K in keyof T]: Norm<T[K]> } : T;
type Equal<A, B> = (<X>() => X extends Norm<A> ? 1 : 2) extends (<X>() => X extends Norm<B> ? 1 : 2) ? true : false;
/** The `t`s whose schema is not exactly their frame type, or that have no frame type. */
type Mismatched<Frames extends { t: string }, Schemas> = {
  [K in keyof Schemas]: Equal<TypeOf<Schemas[K]>, Extract<Frames, { t: K }>> extends true ? never : K;
}[keyof Schemas];

const clientCovered: Record<ClientFrame["t"], Schema<unknown>> = CLIENT_FRAMES;
const serverCovered: Record<ServerFrame["t"], Schema<unknown>> = SERVER_FRAMES;
const clientMismatched: [Mismatched<ClientFrame, typeof CLIENT_FRAMES>] extends [never] ? true : Mismatched<ClientFrame, typeof CLIENT_FRAMES> = true;
const serverMismatched: [Mismatched<ServerFrame, typeof SERVER_FRAMES>] extends [never] ? true : Mismatched<ServerFrame, typeof SERVER_FRAMES> = true;
/** Referenced so the checks above count as used. */
export const COMPILED_CHECKS = [clientCovered, serverCovered, clientMismatched, serverMismatched] as const;
export { CHATS_MAX_LIMIT, HISTORY_MAX_LIMIT };
