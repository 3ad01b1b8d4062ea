/**
 * One connection of protocol v1 (docs/protocol.md): hello, requests matched by `r`, contiguous
 * acks. It never reconnects: ChatClient (chat-client.ts) does, on top of it. Tests drive the
 * router through this class, and keep every frame it received to wait on.
 */
import { decodeFrame, encodeFrame } from "./codec.ts";
import type {
  BlocksFrame,
  CallOkFrame,
  CallTurnFrame,
  ChatEventFrame,
  ContactsFoundFrame,
  ContactsFrame,
  ErrorFrame,
  GroupFrame,
  HistoryFrame,
  KeysFrame,
  KeysOkFrame,
  MediaRef,
  RefreshedFrame,
  MessageFrame,
  PrivacyAudience,
  PrivacyFrame,
  ChatsFrame,
  ProfileFrame,
  AccountDeletedFrame,
  SentFrame,
  ServerFrame,
  StatusKind,
  StatusListFrame,
  StatusOkFrame,
  StatusPostedFrame,
  StatusViewersFrame,
  SyncedFrame,
  WelcomeFrame,
} from "./frames.ts";
import { messageBytes, OPEN, resolveWebSocket, type WebSocketConstructor, type WebSocketLike } from "./websocket.ts";

export interface ClientOptions {
  url: string;
  token: string;
  device?: string;
  /** Ack every `msg` as it arrives (per chat watermark). Default true. */
  autoAck?: boolean;
  /** How long a request waits for its answer. Default 10 s. */
  requestTimeoutMs?: number;
  /** The WebSocket implementation; default: the one registered or globalThis.WebSocket. */
  WebSocket?: WebSocketConstructor;
  /**
   * Keep every frame, message and event received (`frames`, `messages`, `events`), which
   * `waitFor` searches. Default true; a long-lived connection passes false and listens instead.
   */
  keepFrames?: boolean;
  /** Called with every frame received, in order, after the connection's own bookkeeping. */
  onFrame?: (frame: ServerFrame) => void;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** A request (or wait) cut short because the connection closed; `close` says how. */
export class ConnectionClosedError extends Error {
  constructor(readonly close: CloseInfo) {
    super(`connection closed (${close.code} ${close.reason})`);
  }
}

export class RequestError extends Error {
  constructor(readonly frame: ErrorFrame) {
    super(`${frame.code}: ${frame.msg}`);
  }
  get code(): string {
    return this.frame.code;
  }
}

interface Waiter {
  match(frame: ServerFrame): boolean;
  resolve(frame: ServerFrame): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

export class RouterClient {
  /** Every frame received, in order. */
  readonly frames: ServerFrame[] = [];
  /** Messages received, deduplicated by (chat, seq), in arrival order. */
  readonly messages: MessageFrame[] = [];
  /** Edits, deletes and reactions received, deduplicated by (chat, pos). */
  readonly events: ChatEventFrame[] = [];
  welcome: WelcomeFrame | undefined;
  synced: SyncedFrame | undefined;
  closed: CloseInfo | undefined;
  private readonly seen = new Set<string>();
  private readonly acked = new Map<string, number>();
  /** Positions received above the acked watermark, per chat, waiting for a gap to fill. */
  private readonly held = new Map<string, Set<number>>();
  private waiters: Waiter[] = [];
  private nextRequestId = 1;
  private readonly closedPromise: Promise<CloseInfo>;

  private constructor(
    private readonly socket: WebSocketLike,
    private readonly options: ClientOptions,
  ) {
    socket.addEventListener("message", (event) => {
      const bytes = messageBytes(event.data);
      if (bytes) this.onFrame(decodeFrame(bytes) as ServerFrame);
    });
    this.closedPromise = new Promise((resolve) => {
      socket.addEventListener("close", (event) => {
        this.closed = { code: event.code, reason: event.reason };
        for (const waiter of this.waiters) {
          clearTimeout(waiter.timer);
          waiter.reject(new ConnectionClosedError(this.closed));
        }
        this.waiters = [];
        resolve(this.closed);
      });
    });
  }

  /** Opens a socket without saying hello: for tests of what the server does before it. */
  static async open(url: string, options: Partial<ClientOptions> = {}): Promise<RouterClient> {
    const Implementation = await resolveWebSocket(options.WebSocket);
    const socket = new Implementation(url);
    socket.binaryType = "arraybuffer";
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve());
      socket.addEventListener("error", () => reject(new Error(`could not connect to ${url}`)));
      socket.addEventListener("close", (event) => reject(new ConnectionClosedError({ code: event.code, reason: event.reason })));
    });
    return new RouterClient(socket, { url, token: "", ...options });
  }

  /** Connects, says hello, and waits until the server has replayed what this device missed. */
  static async connect(options: ClientOptions): Promise<RouterClient> {
    const client = await RouterClient.open(options.url, options);
    try {
      await client.hello(options.token, options.device);
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  /** Says hello and waits for `synced`: the replay of what this device had not acked is over. */
  async hello(token: string, device?: string): Promise<SyncedFrame> {
    this.options.token = token;
    // Replay may take as long as any request: a device far behind is sent a lot.
    const synced = this.waitFor((frame): frame is SyncedFrame => frame.t === "synced", this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    // It may time out while hello is still unanswered: handled here, so that never surfaces as
    // an unhandled rejection; awaiting it below still throws.
    synced.catch(() => undefined);
    this.welcome = (await this.request({ t: "hello", token, device })) as WelcomeFrame;
    this.synced = await synced;
    return this.synced;
  }

  get user(): string {
    return this.welcome?.user ?? "";
  }

  /** Sends any value as one binary frame (tests use it for malformed frames). */
  sendRaw(value: unknown): void {
    this.sendBytes(encodeFrame(value));
  }

  /** Sends bytes as one binary message, or a string as a text message (which the server refuses). */
  sendBytes(bytes: Uint8Array | string): void {
    // A frame sent on a closing socket is lost either way; the caller learns of it from the close.
    if (this.socket.readyState === OPEN) this.socket.send(bytes);
  }

  /** Sends a request with a fresh `r` and resolves with its answer (rejects on `err`). */
  async request(frame: Record<string, unknown>): Promise<ServerFrame> {
    const r = this.nextRequestId++;
    const answer = this.nextFrame((f) => "r" in f && f.r === r, this.options.requestTimeoutMs);
    this.sendRaw({ ...frame, r });
    const reply = await answer;
    if (reply.t === "err") throw new RequestError(reply);
    return reply;
  }

  send(to: string, body: Uint8Array | string, extra: { cid?: string; kind?: string; reply?: number } = {}): Promise<SentFrame> {
    const cid = extra.cid ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    return this.request({ t: "send", cid, to, body, kind: extra.kind, reply: extra.reply }) as Promise<SentFrame>;
  }

  sendToGroup(group: string, body: Uint8Array | string, extra: { cid?: string; kind?: string; reply?: number } = {}): Promise<SentFrame> {
    const cid = extra.cid ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    return this.request({ t: "send", cid, group, body, kind: extra.kind, reply: extra.reply }) as Promise<SentFrame>;
  }

  /** A message carrying an upload (sdk/media.ts): `media` is what the upload answered, plus an optional thumb. */
  sendMedia(target: { to: string } | { group: string }, media: MediaRef, caption: Uint8Array | string = "", extra: { cid?: string; reply?: number } = {}): Promise<SentFrame> {
    const cid = extra.cid ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    return this.request({ t: "send", cid, ...target, body: caption, kind: "media", media, reply: extra.reply }) as Promise<SentFrame>;
  }

  /** group.create / add / remove / leave / info / admin: every one answers with the group. */
  group(t: "create" | "add" | "remove" | "leave" | "info" | "admin", fields: Record<string, unknown>): Promise<GroupFrame> {
    return this.request({ t: `group.${t}`, ...fields }) as Promise<GroupFrame>;
  }

  /** Accepts an invitation (a `group.invite` frame): joins `chat`; answered with the group. */
  joinGroup(chat: string, invite: string): Promise<GroupFrame> {
    return this.request({ t: "group.join", chat, invite }) as Promise<GroupFrame>;
  }

  /** Changes the given privacy settings; resolves with all of them. */
  setPrivacy(settings: { last_seen?: PrivacyAudience; online?: PrivacyAudience; groups?: PrivacyAudience; profile?: PrivacyAudience }): Promise<PrivacyFrame> {
    return this.request({ t: "privacy.set", ...settings }) as Promise<PrivacyFrame>;
  }

  /** One page of the user's chats, newest first; pass the answer's `next` as `after` for the following page. */
  chats(options: { after?: string; limit?: number } = {}): Promise<ChatsFrame> {
    return this.request({ t: "chats", ...options }) as Promise<ChatsFrame>;
  }

  /** Changes the given profile fields ("" clears one); resolves with the whole profile. */
  setProfile(fields: { name?: string; about?: string; photo?: string }): Promise<ProfileFrame> {
    return this.request({ t: "profile.set", ...fields }) as Promise<ProfileFrame>;
  }

  /** `user`'s profile as their `profile` privacy setting lets this user see it. */
  getProfile(user: string): Promise<ProfileFrame> {
    return this.request({ t: "profile.get", user }) as Promise<ProfileFrame>;
  }

  /** Deletes the account for good; the server then closes every device with 4001. */
  deleteAccount(): Promise<AccountDeletedFrame> {
    return this.request({ t: "account.delete" }) as Promise<AccountDeletedFrame>;
  }

  getPrivacy(): Promise<PrivacyFrame> {
    return this.request({ t: "privacy.get" }) as Promise<PrivacyFrame>;
  }

  /**
   * Which of the address book's numbers (E.164, as the book holds them; at most 5,000 per
   * call) are users. Each number counts against the user's daily lookup budget (`left`).
   */
  syncContacts(phones: string[]): Promise<ContactsFoundFrame> {
    return this.request({ t: "contacts.sync", phones }) as Promise<ContactsFoundFrame>;
  }

  /** Adds users to the server-side contact list (which `contacts` privacy settings refer to). */
  addContacts(users: string[]): Promise<ContactsFrame> {
    return this.request({ t: "contacts.add", users }) as Promise<ContactsFrame>;
  }

  removeContacts(users: string[]): Promise<ContactsFrame> {
    return this.request({ t: "contacts.remove", users }) as Promise<ContactsFrame>;
  }

  /** The whole contact list, sorted. */
  async contacts(): Promise<string[]> {
    return ((await this.request({ t: "contacts.list" })) as ContactsFrame).users ?? [];
  }

  /** Their direct messages are then answered `sent` but never reach this user; typing and presence hide. */
  block(user: string): Promise<BlocksFrame> {
    return this.request({ t: "block", user }) as Promise<BlocksFrame>;
  }

  unblock(user: string): Promise<BlocksFrame> {
    return this.request({ t: "unblock", user }) as Promise<BlocksFrame>;
  }

  /** The whole block list, sorted. */
  async blocks(): Promise<string[]> {
    return ((await this.request({ t: "blocks" })) as BlocksFrame).users ?? [];
  }

  /** edit / delete / react of message `seq`; answered with `sent` naming the event's position. */
  operate(t: "edit" | "delete" | "react", chat: string, seq: number, fields: Record<string, unknown> = {}): Promise<SentFrame> {
    return this.request({ t, chat, seq, ...fields }) as Promise<SentFrame>;
  }

  /** Publishes this device's public keys (docs/protocol.md, End-to-end encryption); resolves with the one-time prekeys held. */
  async putKeys(keys: {
    identity: Uint8Array;
    signed: { id: number; key: Uint8Array; sig: Uint8Array };
    prekeys: Array<{ id: number; key: Uint8Array }>;
    kyber?: { id: number; key: Uint8Array; sig: Uint8Array };
    reg?: number;
  }): Promise<number> {
    const ok = (await this.request({ t: "keys.put", ...keys })) as KeysOkFrame;
    return ok.count;
  }

  /** Claims one bundle per device of `user` (each one-time prekey is handed out once). */
  getKeys(user: string, device?: string): Promise<KeysFrame> {
    return this.request({ t: "keys.get", user, device }) as Promise<KeysFrame>;
  }

  /**
   * Moves this connection onto a newer token of the same user (and device) before the current
   * one expires, when the server would close it with 4001. Resolves with the new expiry (ms
   * since the epoch; undefined: never); rejects with `unauthorized`, the connection staying on
   * its current token, when the server refuses it.
   */
  async refresh(token: string): Promise<number | undefined> {
    const answer = (await this.request({ t: "refresh", token })) as RefreshedFrame;
    this.options.token = token;
    return answer.exp;
  }

  /**
   * Starts a call to a user (with an SDP offer) or a group (without: members join, then offer
   * to each participant); resolves with the call's id (docs/protocol.md, Calls).
   */
  async call(target: { to: string } | { group: string }, sdp?: string, video = false): Promise<string> {
    const ok = (await this.request({ t: "call.offer", ...target, video, ...(sdp === undefined ? {} : { sdp }) })) as CallOkFrame;
    return ok.call;
  }

  /** An offer inside a call: to a group call's participant (the mesh), or a renegotiation. */
  offer(call: string, to: string, sdp: string, video = false): Promise<CallOkFrame> {
    return this.request({ t: "call.offer", call, to, video, sdp }) as Promise<CallOkFrame>;
  }

  /** Answers a ringing call (or, with `to`, a mesh peer's offer in a group call). */
  answer(call: string, sdp: string, to?: string): Promise<CallOkFrame> {
    return this.request({ t: "call.answer", call, sdp, to }) as Promise<CallOkFrame>;
  }

  ice(call: string, candidate: string, to?: string): void {
    this.sendRaw({ t: "call.ice", call, candidate, to });
  }

  /** Tells the caller this device is ringing. */
  ringing(call: string): void {
    this.sendRaw({ t: "call.ringing", call });
  }

  reject(call: string, reason: "busy" | "declined" = "declined"): Promise<CallOkFrame> {
    return this.request({ t: "call.reject", call, reason }) as Promise<CallOkFrame>;
  }

  hangUp(call: string): Promise<CallOkFrame> {
    return this.request({ t: "call.end", call }) as Promise<CallOkFrame>;
  }

  /** Joins a group call already running. */
  joinCall(call: string): Promise<CallOkFrame> {
    return this.request({ t: "call.join", call }) as Promise<CallOkFrame>;
  }

  /** TURN credentials for calls: `{urls, username, credential, ttl}` (coturn's REST-API scheme). */
  turn(): Promise<CallTurnFrame> {
    return this.request({ t: "call.turn" }) as Promise<CallTurnFrame>;
  }

  /**
   * Posts a status (docs/protocol.md, Status): `text` / `cipher` with a body, `image` / `video`
   * with an uploaded object's `media`. Without `audience.allow` the audience is the poster's contacts (minus `deny`).
   */
  postStatus(
    content: { kind: StatusKind; body?: Uint8Array | string; media?: MediaRef; caption?: Uint8Array | string },
    audience?: { allow?: string[]; deny?: string[] },
  ): Promise<StatusPostedFrame> {
    return this.request({ t: "status.post", ...content, ...(audience ? { audience } : {}) }) as Promise<StatusPostedFrame>;
  }

  /** The live statuses this user may see, by poster (newest first), and their own with view counts. */
  listStatuses(posters?: string[]): Promise<StatusListFrame> {
    return this.request({ t: "status.list", posters }) as Promise<StatusListFrame>;
  }

  /** Records that this user saw `poster`'s status `id`; the poster hears `status.viewed` once. */
  viewStatus(poster: string, id: string): Promise<StatusOkFrame> {
    return this.request({ t: "status.view", poster, id }) as Promise<StatusOkFrame>;
  }

  /** Who saw one of this user's statuses, a page at a time in user id order. */
  statusViewers(id: string, page: { after?: string; limit?: number } = {}): Promise<StatusViewersFrame> {
    return this.request({ t: "status.viewers", id, ...page }) as Promise<StatusViewersFrame>;
  }

  deleteStatus(id: string): Promise<StatusOkFrame> {
    return this.request({ t: "status.delete", id }) as Promise<StatusOkFrame>;
  }

  typing(chat: string, on: boolean): void {
    this.sendRaw({ t: "typing", chat, on });
  }

  history(chat: string, before?: number, limit?: number): Promise<HistoryFrame> {
    return this.request({ t: "history", chat, before, limit }) as Promise<HistoryFrame>;
  }

  ack(chat: string, seq: number): void {
    this.sendRaw({ t: "ack", chat, seq });
  }

  read(chat: string, seq: number): void {
    this.sendRaw({ t: "read", chat, seq });
  }

  /**
   * Resolves with the first frame (already received or future) matching `predicate`.
   * Frames already received count, so a test never races the server.
   */
  waitFor<T extends ServerFrame>(predicate: ((frame: ServerFrame) => frame is T) | ((frame: ServerFrame) => boolean), timeoutMs = 10_000, fromIndex = 0): Promise<T> {
    for (let i = fromIndex; i < this.frames.length; i += 1) {
      const frame = this.frames[i]!;
      if (predicate(frame)) return Promise.resolve(frame as T);
    }
    return this.nextFrame<T>(predicate, timeoutMs);
  }

  /** Like waitFor, but only frames that arrive from now on. */
  nextFrame<T extends ServerFrame>(predicate: (frame: ServerFrame) => boolean, timeoutMs = 10_000): Promise<T> {
    if (this.closed) return Promise.reject(new ConnectionClosedError(this.closed));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match: predicate,
        resolve: resolve as (frame: ServerFrame) => void,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for a frame`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Waits until `count` distinct messages of `chat` (or of any chat) have arrived. */
  async waitForMessages(count: number, chat?: string, timeoutMs = 10_000): Promise<MessageFrame[]> {
    const matching = () => this.messages.filter((m) => chat === undefined || m.chat === chat);
    if (matching().length >= count) return matching();
    await this.nextFrame(() => matching().length >= count, timeoutMs);
    return matching();
  }

  waitForClose(): Promise<CloseInfo> {
    return this.closedPromise;
  }

  close(): Promise<CloseInfo> {
    if (!this.closed) this.socket.close(1000, "bye");
    return this.closedPromise;
  }

  /**
   * Drops the TCP connection without a close handshake, as a phone losing signal does (with
   * `ws`; a browser's WebSocket cannot, and closes instead).
   */
  terminate(): Promise<CloseInfo> {
    const socket = this.socket as WebSocketLike & { terminate?: () => void };
    if (socket.terminate) socket.terminate();
    else socket.close(1000, "bye");
    return this.closedPromise;
  }

  /**
   * Acks the highest contiguous position held, as the protocol asks: a message lost on the
   * way (a gap) holds the watermark back, so the server replays it on the next connect.
   * The first position seen in a chat on this connection follows the server's cursor.
   */
  private hold(chat: string, position: number): void {
    if (this.options.autoAck === false) return;
    const mark = this.acked.get(chat) ?? position - 1;
    if (position <= mark) return;
    let held = this.held.get(chat);
    if (!held) this.held.set(chat, (held = new Set()));
    held.add(position);
    let next = mark;
    while (held.delete(next + 1)) next += 1;
    this.acked.set(chat, next);
    if (next > mark) this.ack(chat, next);
  }

  private onFrame(frame: ServerFrame): void {
    // Messages and events share one order per chat: `seq` for a message, `pos` for an event.
    const position = frame.t === "msg" ? frame.seq : "pos" in frame ? frame.pos : undefined;
    const keep = this.options.keepFrames !== false;
    if (position !== undefined && "chat" in frame) {
      const key = `${frame.chat}\u0000${position}`;
      if (keep && !this.seen.has(key)) {
        this.seen.add(key);
        if (frame.t === "msg") this.messages.push(frame);
        // A `skip` holds a position and nothing else: acked below, shown nowhere.
        else if (frame.t !== "skip") this.events.push(frame as ChatEventFrame);
      }
      this.hold(frame.chat, position);
    }
    // This device's own messages are answered with `sent`, not sent back: it holds them too.
    if (frame.t === "sent") this.hold(frame.chat, frame.seq);
    if (keep) this.frames.push(frame);
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) {
      if (waiter.match(frame)) {
        clearTimeout(waiter.timer);
        waiter.resolve(frame);
      } else {
        this.waiters.push(waiter);
      }
    }
    this.options.onFrame?.(frame);
  }
}
