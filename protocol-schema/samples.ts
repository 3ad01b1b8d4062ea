/**
 * One or more sample frames per `t` and direction: the test vectors (vectors.json) are these,
 * encoded. Typed as the frames they are, so a sample that stops being a frame does not compile.
 */
import type { ClientFrame, MediaRef, MessageFrame, ServerFrame, StatusItem } from "../src/protocol/frames.ts";

export interface Sample<F> {
  /** Unique across all vectors: `t`, and what makes this one different when there are several. */
  name: string;
  frame: F;
}

const bytes = (...values: number[]) => new Uint8Array(values);
const TS = 1_764_763_200_000;
const GROUP = "g:7Hq2mZ4xKp9w";
const DIRECT = "d:alice:bob";
const CALL = "k3v7q2m5x6abcdefghij@node-1";
const INVITE = "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4";
const MEDIA: MediaRef = {
  id: "0123456789abcdef0123456789abcdef",
  mime: "image/jpeg",
  size: 48213,
  sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
  thumb: bytes(0xff, 0xd8, 0xff, 0xe0),
};
const SIGNED = { id: 7, key: bytes(5, 1, 2, 3), sig: bytes(9, 9, 9) };
const MESSAGE: MessageFrame = { t: "msg", chat: DIRECT, seq: 42, from: "alice", ts: TS, body: "hello bob", kind: "text" };
const STATUS: StatusItem = { id: "01jd6z8k3m4n5p6q7r8s9", kind: "text", body: "at the beach", ts: TS, expires: TS + 86_400_000, seen: true };
const OWN_STATUS: StatusItem = { id: "01jd6z8k3m4n5p6q7r8sa", kind: "image", media: MEDIA, caption: "sunset", ts: TS, expires: TS + 86_400_000, views: 3 };

export const CLIENT_SAMPLES: Array<Sample<ClientFrame>> = [
  { name: "hello", frame: { t: "hello", r: 1, token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln" } },
  { name: "hello with device", frame: { t: "hello", r: 1, token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln", device: "phone" } },
  { name: "refresh", frame: { t: "refresh", r: 9, token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.bmV3" } },
  { name: "send text to a user", frame: { t: "send", r: 2, cid: "m-0001", to: "bob", body: "hello bob" } },
  { name: "send bytes to a group, replying", frame: { t: "send", r: 3, cid: "m-0002", group: GROUP, body: bytes(0xde, 0xad, 0xbe, 0xef), kind: "cipher", reply: 41 } },
  { name: "send media", frame: { t: "send", r: 4, cid: "m-0003", to: "bob", body: "", kind: "media", media: MEDIA } },
  { name: "ack", frame: { t: "ack", chat: DIRECT, seq: 42 } },
  { name: "read", frame: { t: "read", chat: DIRECT, seq: 42 } },
  { name: "history", frame: { t: "history", r: 5, chat: DIRECT, before: 42, limit: 50 } },
  { name: "ping", frame: { t: "ping", r: 6 } },
  { name: "group.create", frame: { t: "group.create", r: 7, name: "Climbing", members: ["bob", "carol"] } },
  { name: "group.add", frame: { t: "group.add", r: 8, chat: GROUP, users: ["dan"] } },
  { name: "group.remove", frame: { t: "group.remove", r: 8, chat: GROUP, user: "dan" } },
  { name: "group.leave", frame: { t: "group.leave", r: 8, chat: GROUP } },
  { name: "group.info", frame: { t: "group.info", r: 8, chat: GROUP } },
  { name: "group.admin", frame: { t: "group.admin", r: 8, chat: GROUP, user: "bob", admin: true } },
  { name: "group.join", frame: { t: "group.join", r: 8, chat: GROUP, invite: INVITE } },
  { name: "receipts", frame: { t: "receipts", r: 10, chat: GROUP, seq: 12 } },
  { name: "watch", frame: { t: "watch", r: 11, users: ["bob", "carol"] } },
  { name: "typing", frame: { t: "typing", chat: DIRECT, on: true } },
  { name: "edit", frame: { t: "edit", r: 12, chat: DIRECT, seq: 42, body: "hello, bob" } },
  { name: "delete", frame: { t: "delete", r: 13, chat: DIRECT, seq: 42 } },
  { name: "react", frame: { t: "react", r: 14, chat: DIRECT, seq: 42, emoji: "👍" } },
  {
    name: "keys.put",
    frame: { t: "keys.put", r: 15, identity: bytes(5, 0xaa, 0xbb), signed: SIGNED, prekeys: [{ id: 1, key: bytes(5, 1) }, { id: 2, key: bytes(5, 2) }], reg: 1234 },
  },
  { name: "keys.get", frame: { t: "keys.get", r: 16, user: "bob" } },
  { name: "push.register", frame: { t: "push.register", r: 17, platform: "fcm", token: "fcm-token-abc" } },
  { name: "push.unregister", frame: { t: "push.unregister", r: 18 } },
  { name: "push.mute", frame: { t: "push.mute", r: 19, chat: GROUP, until: TS + 3_600_000 } },
  { name: "push.dnd", frame: { t: "push.dnd", r: 20, start: 1320, end: 420, tz: "Europe/Berlin" } },
  { name: "privacy.set", frame: { t: "privacy.set", r: 21, last_seen: "contacts", online: "nobody" } },
  { name: "privacy.get", frame: { t: "privacy.get", r: 22 } },
  { name: "contacts.sync", frame: { t: "contacts.sync", r: 23, phones: ["+14155550100", "+4915112345678"] } },
  { name: "contacts.add", frame: { t: "contacts.add", r: 24, users: ["bob"] } },
  { name: "contacts.remove", frame: { t: "contacts.remove", r: 25, users: ["bob"] } },
  { name: "contacts.list", frame: { t: "contacts.list", r: 26 } },
  { name: "block", frame: { t: "block", r: 27, user: "mallory" } },
  { name: "unblock", frame: { t: "unblock", r: 28, user: "mallory" } },
  { name: "blocks", frame: { t: "blocks", r: 29 } },
  { name: "profile.set", frame: { t: "profile.set", r: 30, name: "Alice", about: "" } },
  { name: "profile.get", frame: { t: "profile.get", r: 31, user: "bob" } },
  { name: "account.delete", frame: { t: "account.delete", r: 32 } },
  { name: "chats", frame: { t: "chats", r: 33, limit: 20 } },
  { name: "call.offer to a user", frame: { t: "call.offer", r: 34, to: "bob", video: false, sdp: "v=0\r\n" } },
  { name: "call.offer to a group", frame: { t: "call.offer", r: 35, group: GROUP, video: true } },
  { name: "call.answer", frame: { t: "call.answer", r: 36, call: CALL, sdp: "v=0\r\n" } },
  { name: "call.ice", frame: { t: "call.ice", call: CALL, candidate: "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host" } },
  { name: "call.ringing", frame: { t: "call.ringing", call: CALL } },
  { name: "call.reject", frame: { t: "call.reject", r: 37, call: CALL, reason: "busy" } },
  { name: "call.end", frame: { t: "call.end", r: 38, call: CALL } },
  { name: "call.join", frame: { t: "call.join", r: 39, call: CALL } },
  { name: "call.turn", frame: { t: "call.turn", r: 40 } },
  { name: "status.post", frame: { t: "status.post", r: 41, kind: "text", body: "at the beach", audience: { allow: ["bob", "carol"] } } },
  { name: "status.list", frame: { t: "status.list", r: 42 } },
  { name: "status.view", frame: { t: "status.view", r: 43, poster: "bob", id: "01jd6z8k3m4n5p6q7r8s9" } },
  { name: "status.viewers", frame: { t: "status.viewers", r: 44, id: "01jd6z8k3m4n5p6q7r8s9", limit: 50 } },
  { name: "status.delete", frame: { t: "status.delete", r: 45, id: "01jd6z8k3m4n5p6q7r8s9" } },
];

export const SERVER_SAMPLES: Array<Sample<ServerFrame>> = [
  { name: "welcome", frame: { t: "welcome", r: 1, user: "alice", device: "phone", node: "node-1", ts: TS } },
  { name: "synced", frame: { t: "synced", recovered: true } },
  { name: "sent", frame: { t: "sent", r: 2, cid: "m-0001", chat: DIRECT, seq: 42, ts: TS } },
  { name: "msg", frame: MESSAGE },
  { name: "msg with media, edited, reacted", frame: { ...MESSAGE, seq: 43, body: "", kind: "media", media: MEDIA, reply: 42, edited: TS + 1000, reactions: { bob: "❤️" } } },
  { name: "msg deleted", frame: { ...MESSAGE, seq: 44, body: "", deleted: true } },
  { name: "edit", frame: { t: "edit", chat: DIRECT, seq: 42, body: "hello, bob", by: "alice", ts: TS, pos: 45 } },
  { name: "delete", frame: { t: "delete", chat: DIRECT, seq: 42, by: "alice", ts: TS, pos: 46 } },
  { name: "react", frame: { t: "react", chat: DIRECT, seq: 42, user: "bob", emoji: "👍", ts: TS, pos: 47 } },
  { name: "skip", frame: { t: "skip", chat: GROUP, pos: 3 } },
  { name: "group", frame: { t: "group", r: 7, chat: GROUP, name: "Climbing", members: ["alice", "bob"], admins: ["alice"], invited: ["carol"] } },
  { name: "receipts", frame: { t: "receipts", r: 10, chat: GROUP, seq: 12, members: 3, delivered: 2, read: 1 } },
  { name: "presence", frame: { t: "presence", user: "bob", online: false, last_seen: TS } },
  { name: "presence hidden", frame: { t: "presence", user: "carol", hidden: true } },
  { name: "typing", frame: { t: "typing", chat: DIRECT, user: "bob", on: true } },
  { name: "watching", frame: { t: "watching", r: 11, users: 2 } },
  { name: "receipt", frame: { t: "receipt", chat: DIRECT, user: "bob", delivered: 42, read: 41 } },
  { name: "history", frame: { t: "history", r: 5, chat: DIRECT, msgs: [MESSAGE], more: false } },
  { name: "pong", frame: { t: "pong", r: 6, ts: TS } },
  { name: "err", frame: { t: "err", r: 2, code: "forbidden", msg: "not a member of that group" } },
  { name: "err without r", frame: { t: "err", code: "invalid_field", msg: "`seq` must be an unsigned integer" } },
  { name: "keys.ok", frame: { t: "keys.ok", r: 15, count: 2 } },
  { name: "keys", frame: { t: "keys", r: 16, user: "bob", bundles: [{ device: "phone", identity: bytes(5, 0xcc), signed: SIGNED, prekey: { id: 1, key: bytes(5, 1) }, reg: 99 }] } },
  { name: "keys.low", frame: { t: "keys.low", device: "phone", count: 3 } },
  { name: "push.ok", frame: { t: "push.ok", r: 17 } },
  { name: "refreshed", frame: { t: "refreshed", r: 9, exp: TS + 86_400_000 } },
  { name: "privacy", frame: { t: "privacy", r: 22, last_seen: "contacts", online: "nobody", groups: "everyone", profile: "everyone" } },
  { name: "group.invite", frame: { t: "group.invite", chat: GROUP, by: "bob", name: "Climbing", invite: INVITE, expires: TS + 604_800_000 } },
  { name: "contacts.found", frame: { t: "contacts.found", r: 23, users: [{ phone: "+14155550100", user: "bob" }], left: 4998 } },
  { name: "contacts", frame: { t: "contacts", r: 26, count: 1, users: ["bob"] } },
  { name: "blocks", frame: { t: "blocks", r: 27, count: 1 } },
  { name: "chats", frame: { t: "chats", r: 33, chats: [{ chat: GROUP, last_seq: 12, last_ts: TS, unread: 2, name: "Climbing", members: 3 }], next: "opaque-cursor" } },
  { name: "profile", frame: { t: "profile", r: 31, user: "bob", name: "Bob" } },
  { name: "account.deleted", frame: { t: "account.deleted", r: 32 } },
  { name: "call.ok", frame: { t: "call.ok", r: 34, call: CALL } },
  { name: "call.offer", frame: { t: "call.offer", call: CALL, from: "alice", device: "phone", video: false, sdp: "v=0\r\n" } },
  { name: "call.answer", frame: { t: "call.answer", call: CALL, from: "bob", device: "phone", sdp: "v=0\r\n" } },
  { name: "call.ice", frame: { t: "call.ice", call: CALL, from: "bob", device: "phone", candidate: "candidate:1 1 udp 2122260223 192.0.2.2 54401 typ host" } },
  { name: "call.ringing", frame: { t: "call.ringing", call: CALL, user: "bob", device: "phone" } },
  { name: "call.answered_elsewhere", frame: { t: "call.answered_elsewhere", call: CALL } },
  { name: "call.end", frame: { t: "call.end", call: CALL, reason: "hangup", by: "bob", duration: 61_000 } },
  { name: "call.join", frame: { t: "call.join", call: CALL, group: GROUP, user: "carol", device: "laptop", participants: ["alice", "carol"] } },
  { name: "call.leave", frame: { t: "call.leave", call: CALL, group: GROUP, user: "carol", participants: ["alice"] } },
  { name: "call.turn", frame: { t: "call.turn", r: 40, urls: ["turn:turn.example.org:3478?transport=udp"], username: "1764849600:alice", credential: "c2VjcmV0", ttl: 86_400 } },
  { name: "status.posted", frame: { t: "status.posted", r: 41, id: "01jd6z8k3m4n5p6q7r8s9", ts: TS, expires: TS + 86_400_000 } },
  { name: "status.list", frame: { t: "status.list", r: 42, posters: [{ poster: "bob", statuses: [STATUS] }], mine: [OWN_STATUS] } },
  { name: "status.viewers", frame: { t: "status.viewers", r: 44, id: "01jd6z8k3m4n5p6q7r8sa", count: 1, viewers: [{ user: "bob", ts: TS }], more: false } },
  { name: "status.ok", frame: { t: "status.ok", r: 43 } },
  { name: "status.new", frame: { t: "status.new", poster: "bob", id: "01jd6z8k3m4n5p6q7r8s9" } },
  { name: "status.viewed", frame: { t: "status.viewed", id: "01jd6z8k3m4n5p6q7r8sa", by: "bob", ts: TS } },
];
