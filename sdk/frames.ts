// Generated from src/protocol/frames.ts by scripts/sdk-frames.mjs: do not edit here.
// The SDK ships without the server's sources, so it carries its own copy of the frames.
/**
 * Protocol v1: every WebSocket message is one MessagePack map with a string `t`.
 * docs/protocol.md is the contract for client authors; this file is its executable form.
 */

/** Message bodies are opaque to the router: bytes (bin) or text (str). */
export type Body = Uint8Array | string;

// ---- client to server -------------------------------------------------------

/** A reference to an object uploaded with `POST /media`, as a message carries it. */
export interface MediaRef {
  id: string;
  mime: string;
  size: number;
  sha256: string;
  /** A small preview the sender made (opaque: encrypted in encrypted chats). */
  thumb?: Uint8Array;
}

/** Media ids are chosen by the server: 32 hex characters (128 random bits). */
export const MEDIA_ID_PATTERN = /^[0-9a-f]{32}$/;

export interface HelloFrame { t: "hello"; r: number; token: string; device?: string }
/** A newer token for the same user (and device) before the connection's one expires. */
export interface RefreshFrame { t: "refresh"; r: number; token: string }
/** Exactly one of `to` (a user: direct chat) and `group` (a group chat id). */
export interface SendFrame {
  t: "send";
  r: number;
  cid: string;
  to?: string;
  group?: string;
  body: Body;
  kind?: string;
  reply?: number;
  /** With `kind: "media"`: the uploaded object this message carries (docs/protocol.md, Media). */
  media?: MediaRef;
}
export interface AckFrame { t: "ack"; chat: string; seq: number }
export interface ReadFrame { t: "read"; chat: string; seq: number }
export interface HistoryRequestFrame { t: "history"; r: number; chat: string; before?: number; limit?: number }
export interface PingFrame { t: "ping"; r: number }

export interface GroupCreateFrame { t: "group.create"; r: number; name: string; members: string[] }
export interface GroupAddFrame { t: "group.add"; r: number; chat: string; users: string[] }
export interface GroupRemoveFrame { t: "group.remove"; r: number; chat: string; user: string }
export interface GroupLeaveFrame { t: "group.leave"; r: number; chat: string }
export interface GroupInfoFrame { t: "group.info"; r: number; chat: string }
export interface GroupAdminFrame { t: "group.admin"; r: number; chat: string; user: string; admin: boolean }
/** Accepts an invitation (`group.invite`): joins the group as an add would have. */
export interface GroupJoinFrame { t: "group.join"; r: number; chat: string; invite: string }
/** How many members have delivered and read `seq` of a chat. */
export interface ReceiptsRequestFrame { t: "receipts"; r: number; chat: string; seq: number }

export interface WatchFrame { t: "watch"; r?: number; users: string[] }
export interface TypingRequestFrame { t: "typing"; chat: string; on: boolean }

export interface EditRequestFrame { t: "edit"; r: number; chat: string; seq: number; body: Body }
export interface DeleteRequestFrame { t: "delete"; r: number; chat: string; seq: number }
export interface ReactRequestFrame { t: "react"; r: number; chat: string; seq: number; emoji: string }

export type GroupRequestFrame =
  | GroupCreateFrame
  | GroupAddFrame
  | GroupRemoveFrame
  | GroupLeaveFrame
  | GroupInfoFrame
  | GroupAdminFrame
  | GroupJoinFrame;

export type MessageOperationFrame = EditRequestFrame | DeleteRequestFrame | ReactRequestFrame;

/** Push notifications (docs/protocol.md, "Push notifications"); each is answered `push.ok`. */
export interface PushRegisterFrame { t: "push.register"; r: number; platform: "apns" | "fcm" | "webhook"; token: string }
export interface PushUnregisterFrame { t: "push.unregister"; r: number }
/** `until`: ms since the epoch; 0 unmutes. */
export interface PushMuteFrame { t: "push.mute"; r: number; chat: string; until: number }
/** Quiet hours as minutes of the day (0-1440) in `tz` (IANA, default UTC); both absent clears them. */
export interface PushDndFrame { t: "push.dnd"; r: number; start?: number; end?: number; tz?: string }
export type PushRequestFrame = PushRegisterFrame | PushUnregisterFrame | PushMuteFrame | PushDndFrame;

/** Who may see or do something; `contacts`: the users in the setter's server-side contact list. */
export type PrivacyAudience = "everyone" | "contacts" | "nobody";
/** Changes the given settings; each answered with all of them (`privacy`). */
export interface PrivacySetFrame { t: "privacy.set"; r: number; last_seen?: PrivacyAudience; online?: PrivacyAudience; groups?: PrivacyAudience; profile?: PrivacyAudience }
export interface PrivacyGetFrame { t: "privacy.get"; r: number }
export type PrivacyRequestFrame = PrivacySetFrame | PrivacyGetFrame;

/**
 * Discovery and the server-side contact list (docs/protocol.md, "Contacts and blocking").
 * `phones`: E.164 numbers as the address book holds them (normalised as sign-up does).
 */
export interface ContactsSyncFrame { t: "contacts.sync"; r: number; phones: string[] }
export interface ContactsAddFrame { t: "contacts.add"; r: number; users: string[] }
export interface ContactsRemoveFrame { t: "contacts.remove"; r: number; users: string[] }
export interface ContactsListFrame { t: "contacts.list"; r: number }
export interface BlockFrame { t: "block"; r: number; user: string }
export interface UnblockFrame { t: "unblock"; r: number; user: string }
export interface BlocksListFrame { t: "blocks"; r: number }
/** What the user's actor answers (contacts.sync is answered by the node serving the connection). */
export type ContactListRequestFrame = ContactsAddFrame | ContactsRemoveFrame | ContactsListFrame | BlockFrame | UnblockFrame | BlocksListFrame;
export type ContactsRequestFrame = ContactsSyncFrame | ContactListRequestFrame;

/** Changes the given profile fields ("" clears one); answered `profile` with the whole profile. */
export interface ProfileSetFrame { t: "profile.set"; r: number; name?: string; about?: string; photo?: string }
export interface ProfileGetFrame { t: "profile.get"; r: number; user: string }
export type ProfileRequestFrame = ProfileSetFrame | ProfileGetFrame;

/** Deletes the account for good: answered `account.deleted`, then every device is closed 4001. */
export interface AccountDeleteFrame { t: "account.delete"; r: number }

/** The user's chats, newest last message first; `after` is the `next` of the previous page. */
export interface ChatsRequestFrame { t: "chats"; r: number; after?: string; limit?: number }

/** End-to-end encryption: the router keeps public prekeys and never sees a private key. */
export interface SignedPreKey { id: number; key: Uint8Array; sig: Uint8Array }
export interface OneTimePreKey { id: number; key: Uint8Array }
/** Publishes this connection's device's keys; `prekeys` are added to those already held. */
export interface KeysPutFrame {
  t: "keys.put";
  r: number;
  identity: Uint8Array;
  signed: SignedPreKey;
  prekeys: OneTimePreKey[];
  kyber?: SignedPreKey;
  reg?: number;
}
export interface KeysGetFrame { t: "keys.get"; r: number; user: string; device?: string }
export type KeysRequestFrame = KeysPutFrame | KeysGetFrame;

export type ClientFrame =
  | HelloFrame
  | SendFrame
  | AckFrame
  | ReadFrame
  | HistoryRequestFrame
  | PingFrame
  | GroupRequestFrame
  | ReceiptsRequestFrame
  | WatchFrame
  | TypingRequestFrame
  | MessageOperationFrame
  | KeysRequestFrame
  | PushRequestFrame
  | RefreshFrame
  | PrivacyRequestFrame
  | ContactsRequestFrame
  | ChatsRequestFrame
  | ProfileRequestFrame
  | AccountDeleteFrame
  | CallRequestFrame
  | StatusRequestFrame;

export type ClientFrameType = ClientFrame["t"];

// ---- server to client -------------------------------------------------------

export interface WelcomeFrame { t: "welcome"; r: number; user: string; device: string; node: string; ts: number }
export interface SyncedFrame { t: "synced"; recovered: boolean }
/** The answer to `send` (with its `cid`) and to `edit` / `delete` / `react` (whose `seq` is the event's position). */
export interface SentFrame { t: "sent"; r: number; cid?: string; chat: string; seq: number; ts: number }

/** One chat message as the server hands it out, live, on sync and in history. */
export interface MessageFrame {
  t: "msg";
  chat: string;
  seq: number;
  from: string;
  ts: number;
  body: Body;
  kind: string;
  reply?: number;
  media?: MediaRef;
  /** Current state, as of when the frame was produced. */
  edited?: number;
  deleted?: boolean;
  reactions?: Record<string, string>;
}

/**
 * Events that change an earlier message, named by that message's `seq`. Each also holds
 * a place in the chat's order, `pos`, which the client acks like a message's seq.
 */
export interface EditFrame { t: "edit"; chat: string; seq: number; body: Body; by: string; ts: number; pos: number }
export interface DeleteFrame { t: "delete"; chat: string; seq: number; by: string; ts: number; pos: number }
export interface ReactFrame { t: "react"; chat: string; seq: number; user: string; emoji: string; ts: number; pos: number }
export type ChatEventFrame = EditFrame | DeleteFrame | ReactFrame;
/**
 * A place in the chat's order that holds nothing for this member (an event about a message
 * from before they joined): acked like any other, so the member's watermark never stalls.
 */
export interface SkipFrame { t: "skip"; chat: string; pos: number }

/** `invited`: users an add (or create) invited instead, as their settings asked; absent when none. */
export interface GroupFrame { t: "group"; r: number; chat: string; name: string; members: string[]; admins: string[]; invited?: string[] }
export interface ReceiptsFrame { t: "receipts"; r: number; chat: string; seq: number; members: number; delivered: number; read: number }
/**
 * `online` is absent when the user hides it; `hidden` is true when the user's settings withhold
 * online status or last seen from this watcher (docs/protocol.md, Presence and typing).
 */
export interface PresenceFrame { t: "presence"; user: string; online?: boolean; last_seen?: number; hidden?: true }
export interface TypingFrame { t: "typing"; chat: string; user: string; on: boolean }
export interface WatchingFrame { t: "watching"; r: number; users: number }

export interface ReceiptFrame { t: "receipt"; chat: string; user: string; delivered?: number; read?: number }
export interface HistoryFrame { t: "history"; r: number; chat: string; msgs: MessageFrame[]; more: boolean }
export interface PongFrame { t: "pong"; r: number; ts: number }
export interface ErrorFrame { t: "err"; r?: number; code: ErrorCode; msg: string }

export interface KeysOkFrame { t: "keys.ok"; r: number; count: number }
export interface KeyBundle {
  device: string;
  identity: Uint8Array;
  signed: SignedPreKey;
  /** Claimed for this caller alone; absent when the device has none left. */
  prekey?: OneTimePreKey;
  kyber?: SignedPreKey;
  reg?: number;
}
export interface KeysFrame { t: "keys"; r: number; user: string; bundles: KeyBundle[] }
/** To the owner's devices: `device` has fewer than the low-water mark of one-time prekeys left. */
export interface KeysLowFrame { t: "keys.low"; device: string; count: number }

export type ServerFrame =
  | WelcomeFrame
  | SyncedFrame
  | SentFrame
  | MessageFrame
  | ChatEventFrame
  | SkipFrame
  | GroupFrame
  | ReceiptsFrame
  | PresenceFrame
  | TypingFrame
  | WatchingFrame
  | ReceiptFrame
  | HistoryFrame
  | PongFrame
  | ErrorFrame
  | KeysOkFrame
  | KeysFrame
  | KeysLowFrame
  | PushOkFrame
  | RefreshedFrame
  | PrivacyFrame
  | GroupInviteFrame
  | ContactsFoundFrame
  | ContactsFrame
  | BlocksFrame
  | ChatsFrame
  | ProfileFrame
  | AccountDeletedFrame
  | CallServerFrame
  | StatusServerFrame;

export interface PushOkFrame { t: "push.ok"; r: number }
/** The user's privacy settings, all of them, as they are now. */
export interface PrivacyFrame { t: "privacy"; r: number; last_seen: PrivacyAudience; online: PrivacyAudience; groups: PrivacyAudience; profile: PrivacyAudience }
/** An add the user's settings turned into an invitation; `group.join` with `invite` accepts it before `expires` (ms). */
export interface GroupInviteFrame { t: "group.invite"; chat: string; by: string; name: string; invite: string; expires: number }
/** The answer to `contacts.sync`: those of the phones that are users, each phone as it was sent. */
export interface ContactsFoundFrame { t: "contacts.found"; r: number; users: Array<{ phone: string; user: string }>; left: number }
/**
 * The answer to `contacts.add` / `contacts.remove` (`count` only) and `contacts.list` (`users` too).
 * Blocks are answered the same way as `blocks`.
 */
export interface ContactsFrame { t: "contacts"; r: number; count: number; users?: string[] }
export interface BlocksFrame { t: "blocks"; r: number; count: number; users?: string[] }

/**
 * One chat of the `chats` list. `unread`: log positions after the user's read watermark (0 when
 * the last message is the user's own); `name` and `members` only for groups the user is in.
 */
export interface ChatSummary { chat: string; last_seq: number; last_ts: number; unread: number; name?: string; members?: number }
/** A page of the user's chats; `next` (absent on the last page) asks for the following one. */
export interface ChatsFrame { t: "chats"; r: number; chats: ChatSummary[]; next?: string }
/** A user's profile: fields unset, or hidden from the asker by the owner's `profile` setting, are absent. */
export interface ProfileFrame { t: "profile"; r: number; user: string; name?: string; about?: string; photo?: string }
/** The account is gone; the connection closes with 4001 right after. */
export interface AccountDeletedFrame { t: "account.deleted"; r: number }
/** The answer to `refresh`: `exp` is when the connection now expires (ms since the epoch); absent: never. */
export interface RefreshedFrame { t: "refreshed"; r: number; exp?: number }

// ---- calls (docs/protocol.md, "Calls") ----------------------------------------

/**
 * Starts a call: to one user (`to`) or a group's members (`group`); the server makes the call
 * id. With `call` (and `to`), an offer inside a call already joined: a group call's mesh pair
 * or a renegotiation. Answered `call.ok` with the call id. `sdp` is required except to start
 * a group call, whose members join and then offer to each participant.
 */
export interface CallOfferFrame { t: "call.offer"; r: number; call?: string; to?: string; group?: string; video: boolean; sdp?: string }
/** Frames within a call. `to` names the participant (user) meant in a group call's mesh. */
export interface CallAnswerFrame { t: "call.answer"; r?: number; call: string; sdp: string; to?: string }
export interface CallIceFrame { t: "call.ice"; call: string; candidate: string; to?: string }
/** A callee's device says it is ringing. */
export interface CallRingingRequestFrame { t: "call.ringing"; call: string }
export interface CallRejectFrame { t: "call.reject"; r?: number; call: string; reason: CallRejectReason }
export interface CallEndRequestFrame { t: "call.end"; r?: number; call: string }
/** Joins a group call already running (a group member, from one device). */
export interface CallJoinRequestFrame { t: "call.join"; r: number; call: string }
/** Asks for TURN credentials. */
export interface CallTurnRequestFrame { t: "call.turn"; r: number }
export type CallRejectReason = "busy" | "declined";
export type CallRequestFrame =
  | CallOfferFrame
  | CallAnswerFrame
  | CallIceFrame
  | CallRingingRequestFrame
  | CallRejectFrame
  | CallEndRequestFrame
  | CallJoinRequestFrame
  | CallTurnRequestFrame;

/** Why a call ended, as `call.end` tells each participant. */
export type CallEndReason =
  | "hangup"
  | "missed"
  | "declined"
  | "busy"
  /** The node holding the call's state died or left; the call cannot go on. */
  | "failed";

/** Answers `call.offer` (with the call's id), `call.join` and, when they carry `r`, the others. */
export interface CallOkFrame { t: "call.ok"; r: number; call: string }
/** An offer to a callee's devices (or a mesh peer's), with who sent it; a group call's ring has no `sdp`. */
export interface CallIncomingOfferFrame { t: "call.offer"; call: string; from: string; device: string; video: boolean; sdp?: string; group?: string }
export interface CallIncomingAnswerFrame { t: "call.answer"; call: string; from: string; device: string; sdp: string }
export interface CallIncomingIceFrame { t: "call.ice"; call: string; from: string; device: string; candidate: string }
export interface CallRingingFrame { t: "call.ringing"; call: string; user: string; device: string }
export interface CallAnsweredElsewhereFrame { t: "call.answered_elsewhere"; call: string }
/** The call is over for this device; `duration` in ms from answer to end when it was answered. */
export interface CallEndedFrame { t: "call.end"; call: string; reason: CallEndReason; by?: string; duration?: number }
/** Group calls: a participant joined or left; to the group's online members. */
export interface CallJoinedFrame { t: "call.join"; call: string; group: string; user: string; device: string; participants: string[] }
export interface CallLeftFrame { t: "call.leave"; call: string; group: string; user: string; participants: string[] }
/** TURN credentials in coturn's REST-API scheme: `username` is `expiry:user`; `ttl` in seconds. */
export interface CallTurnFrame { t: "call.turn"; r: number; urls: string[]; username: string; credential: string; ttl: number }
export type CallServerFrame =
  | CallOkFrame
  | CallIncomingOfferFrame
  | CallIncomingAnswerFrame
  | CallIncomingIceFrame
  | CallRingingFrame
  | CallAnsweredElsewhereFrame
  | CallEndedFrame
  | CallJoinedFrame
  | CallLeftFrame
  | CallTurnFrame;

// ---- status updates (docs/protocol.md, "Status") ------------------------------

export type StatusKind = "text" | "image" | "video" | "cipher";
/**
 * Who may see a status: `allow` minus `deny`. `allow` is required until contacts exist; then
 * an absent `allow` will mean "my contacts" (minus `deny`), so today's frames keep their meaning.
 */
export interface StatusAudienceField { allow?: string[]; deny?: string[] }
/**
 * Posts a status: `text` and `cipher` carry `body` (cipher: opaque, end-to-end encrypted),
 * `image` and `video` carry `media` (an uploaded object). Answered `status.posted`.
 */
export interface StatusPostFrame { t: "status.post"; r: number; kind: StatusKind; body?: Body; media?: MediaRef; caption?: Body; audience?: StatusAudienceField }
/** The live statuses the user may see, grouped by poster; `posters` adds posters the client knows of (its address book). */
export interface StatusListRequestFrame { t: "status.list"; r: number; posters?: string[] }
/** The user saw `poster`'s status `id`; answered `status.ok` when it carries `r`. */
export interface StatusViewFrame { t: "status.view"; r?: number; poster: string; id: string }
/** Who saw one of the user's own statuses, a page at a time (after the user id `after`). */
export interface StatusViewersRequestFrame { t: "status.viewers"; r: number; id: string; after?: string; limit?: number }
/** Deletes one of the user's own statuses before it expires; answered `status.ok`. */
export interface StatusDeleteFrame { t: "status.delete"; r: number; id: string }
export type StatusRequestFrame = StatusPostFrame | StatusListRequestFrame | StatusViewFrame | StatusViewersRequestFrame | StatusDeleteFrame;

/** One status as a viewer (or its poster) gets it. `seen`: this user viewed it; `views`: the poster's own only. */
export interface StatusItem {
  id: string;
  kind: StatusKind;
  body?: Body;
  media?: MediaRef;
  caption?: Body;
  ts: number;
  expires: number;
  seen?: boolean;
  views?: number;
}
export interface StatusPostedFrame { t: "status.posted"; r: number; id: string; ts: number; expires: number }
/** `posters`: newest first, each poster's statuses newest first; `mine`: the user's own. */
export interface StatusListFrame { t: "status.list"; r: number; posters: Array<{ poster: string; statuses: StatusItem[] }>; mine: StatusItem[] }
export interface StatusViewersFrame { t: "status.viewers"; r: number; id: string; count: number; viewers: Array<{ user: string; ts: number }>; more: boolean }
export interface StatusOkFrame { t: "status.ok"; r: number }
/** To the online members of a new status's audience: ask `status.list`. */
export interface StatusNewFrame { t: "status.new"; poster: string; id: string }
/** To the poster's devices: `by` saw status `id` (first view only). */
export interface StatusViewedFrame { t: "status.viewed"; id: string; by: string; ts: number }
export type StatusServerFrame = StatusPostedFrame | StatusListFrame | StatusViewersFrame | StatusOkFrame | StatusNewFrame | StatusViewedFrame;

// ---- errors -----------------------------------------------------------------

/**
 * Stable error codes. Clients switch on these, never on `msg`.
 * `retriable` tells a client whether sending the same request again (same `cid`) can succeed.
 */
export const ERROR_CODES = {
  bad_frame: { retriable: false, doc: "not a MessagePack map with a string `t`" },
  unknown_type: { retriable: false, doc: "`t` names no frame this server knows" },
  invalid_field: { retriable: false, doc: "a field is missing, mistyped or out of range" },
  hello_required: { retriable: false, doc: "the first frame must be `hello`" },
  already_authenticated: { retriable: false, doc: "`hello` sent twice on one connection" },
  unauthorized: { retriable: false, doc: "the token is missing, malformed, expired, revoked or badly signed" },
  forbidden: { retriable: false, doc: "the user may not do this: not a member, not an admin, not the sender" },
  not_found: { retriable: false, doc: "no such chat, message, call or status (or a call that is over or not yours, a status expired or not for you)" },
  too_late: { retriable: false, doc: "the edit or delete window of that message has passed" },
  limit_exceeded: { retriable: false, doc: "a group would go over its member limit, a list is too long, or a call its participant limit" },
  conflict: { retriable: false, doc: "the request contradicts the current state (the message is deleted, the group exists)" },
  too_many_groups: { retriable: false, doc: "the user (or one being added) is in the most groups a user may be in" },
  quota_exceeded: { retriable: true, doc: "a daily budget is used up (`contacts.sync` numbers looked up); retry after it resets, as `msg` says" },
  rate_limited: { retriable: true, doc: "too many frames per second on this connection or by this user across all their devices, or too many requests of one kind (`keys.get`); slow down" },
  unavailable: { retriable: true, doc: "storage or a peer node is unreachable; retry with the same `cid`" },
  timeout: { retriable: true, doc: "the request was not answered in time; retry with the same `cid`" },
  internal: { retriable: true, doc: "the server failed handling this request; it was logged" },
  shutting_down: { retriable: true, doc: "the node is stopping; reconnect (to another node)" },
  too_many_devices: { retriable: false, doc: "the user already has as many live devices as allowed; this connection is closed" },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** WebSocket close codes the server uses, in the 4000-4999 private range where not standard. */
export const CLOSE_CODES = {
  /** Standard: the server is going away (drain or shutdown). Reconnect. */
  going_away: 1001,
  /** Standard: bytes were not a MessagePack frame. */
  unsupported_data: 1007,
  /** Standard: a frame larger than the negotiated limit (sent by uWS itself). */
  too_large: 1009,
  unauthorized: 4001,
  hello_timeout: 4008,
  /** Another connection of the same user and device replaced this one. */
  replaced: 4009,
  /** The connection could not keep up (its send buffer overflowed); reconnect and resync. */
  slow_consumer: 4010,
  /** The user already has the most live devices allowed; this new device was refused (the others stay). */
  too_many_devices: 4011,
} as const;

// ---- identifiers -------------------------------------------------------------

export const USER_ID_PATTERN = /^[A-Za-z0-9_.@+-]{1,64}$/;
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_.@+-]{1,64}$/;
export const DEFAULT_DEVICE = "default";

export function isUserId(value: unknown): value is string {
  return typeof value === "string" && USER_ID_PATTERN.test(value);
}

export const GROUP_ID_PATTERN = /^g:[A-Za-z0-9]{8,40}$/;
/** Invitation tokens are chosen by the server: 32 base64url characters (192 random bits). */
export const INVITE_PATTERN = /^[A-Za-z0-9_-]{32}$/;

export function isGroupChat(chat: string): boolean {
  return GROUP_ID_PATTERN.test(chat);
}

/** `d:` + both user ids in byte order, so either side names the same chat. */
export function directChatId(a: string, b: string): string {
  return a < b ? `d:${a}:${b}` : `d:${b}:${a}`;
}

/** The two members of a direct chat, or undefined when `chat` is not a well-formed direct chat id. */
export function directChatMembers(chat: string): [string, string] | undefined {
  if (!chat.startsWith("d:")) return undefined;
  const parts = chat.slice(2).split(":");
  if (parts.length !== 2) return undefined;
  const [a, b] = parts as [string, string];
  if (!isUserId(a) || !isUserId(b) || !(a <= b)) return undefined;
  return [a, b];
}

export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 200;
export const CHATS_DEFAULT_LIMIT = 50;
export const CHATS_MAX_LIMIT = 200;
/** `chats` cursors are opaque; this bounds what a client can make the server parse. */
export const MAX_CHATS_CURSOR_LENGTH = 512;
