/**
 * The client an app holds for its whole life: it keeps one connection up across drops, node
 * restarts and token expiry, and turns frames into typed events. Everything docs/protocol.md
 * asks of a client (Reconnecting, Token lifetime, ack, send → sent) happens here, so a Swift or
 * Kotlin author can read it as the reference.
 */
import { ConnectionClosedError, RequestError, RouterClient, type CloseInfo } from "./client.ts";
import { Emitter } from "./emitter.ts";
import type {
  Body,
  CallServerFrame,
  ChatEventFrame,
  ChatsFrame,
  ErrorFrame,
  GroupFrame,
  GroupInviteFrame,
  HistoryFrame,
  KeysLowFrame,
  MediaRef,
  MessageFrame,
  PresenceFrame,
  ReceiptFrame,
  RefreshedFrame,
  SentFrame,
  ServerFrame,
  StatusNewFrame,
  StatusViewedFrame,
  SyncedFrame,
  TypingFrame,
  WatchingFrame,
  WelcomeFrame,
} from "./frames.ts";
import { directChatId, ERROR_CODES } from "./frames.ts";
import { actionForClose, backoffDelay, tokenExpiry, type BackoffOptions } from "./reconnect.ts";
import type { WebSocketConstructor } from "./websocket.ts";

/** A token, or a function that fetches a fresh one (called at start, before expiry and after 4001). */
export type TokenSource = string | (() => string | Promise<string>);

export interface ChatClientOptions {
  /** The node's WebSocket address, `ws(s)://host:port/ws`. */
  url: string;
  token: TokenSource;
  device?: string;
  /** How long a request waits for its answer before it is resent (send) or fails. Default 10 s. */
  requestTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** Refresh the token this long before it expires (needs a token function). Default 60 s. */
  refreshBeforeMs?: number;
  /** The WebSocket implementation; default: the one registered or globalThis.WebSocket. */
  WebSocket?: WebSocketConstructor;
}

export type ClientState =
  /** Created, start() not called yet. */
  | "idle"
  /** Opening a socket, saying hello, receiving the replay. */
  | "connecting"
  /** Synced: live frames flow, sends go straight out. */
  | "ready"
  /** Disconnected, waiting `delayMs` before the next attempt. */
  | "waiting"
  /** For good: stop() was called, or a close code or refusal says not to come back. */
  | "stopped";

export interface StateChange {
  state: ClientState;
  /** Attempts since the last time the client was ready. */
  attempt: number;
  /** "waiting": how long until the next attempt. */
  delayMs?: number;
  /** The close that led here, when one did. */
  close?: CloseInfo;
  /** What failed, when something did ("waiting" after a refused connect, "stopped" for good). */
  error?: Error;
}

/** The events a ChatClient emits, by name, with their payloads. */
export interface ChatClientEvents {
  state: StateChange;
  /** Connected and synced (after every reconnect): `synced.recovered` false means fetch history. */
  ready: { welcome: WelcomeFrame; synced: SyncedFrame };
  /** A chat message, once per (chat, seq) whatever reconnects replay. */
  message: MessageFrame;
  /** An edit, delete or reaction of an earlier message, once per (chat, pos). */
  event: ChatEventFrame;
  /** One of this client's sends is durable. */
  sent: SentFrame;
  receipt: ReceiptFrame;
  typing: TypingFrame;
  presence: PresenceFrame;
  invite: GroupInviteFrame;
  /** Call signalling addressed to this device (docs/protocol.md, Calls). */
  call: CallServerFrame;
  status: StatusNewFrame | StatusViewedFrame;
  keysLow: KeysLowFrame;
  /** The connection moved onto a newer token; `exp` in ms since the epoch. */
  token: { exp?: number };
  /** An `err` without `r`: the server refused an `ack`, `read` or `typing`. */
  refused: ErrorFrame;
  /** Every frame received, in order, before it becomes one of the events above. */
  frame: ServerFrame;
}

/** Raised for a send still unanswered when the client stops for good. */
export class ClientStoppedError extends Error {
  constructor(readonly reason: string) {
    super(`client stopped: ${reason}`);
  }
}

export type SendTarget = { to: string } | { group: string };

export interface SendOptions {
  /** The idempotency key; generated when absent. Keep it to resend the same message yourself. */
  cid?: string;
  kind?: string;
  reply?: number;
  media?: MediaRef;
}

interface PendingSend {
  frame: Record<string, unknown>;
  resolve(sent: SentFrame): void;
  reject(error: Error): void;
  /** The connection it was last written to: not written twice to one connection at once. */
  on?: RouterClient;
  retries: number;
}

/** Positions of one chat this client has passed on: a watermark and those above a gap. */
interface Delivered {
  mark: number;
  above: Set<number>;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_REFRESH_BEFORE_MS = 60_000;
/** Hellos refused as unauthorized in a row, each with a token just fetched: the source is broken. */
const MAX_AUTH_FAILURES = 3;

function newCid(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export class ChatClient extends Emitter<ChatClientEvents> {
  private currentState: ClientState = "idle";
  private connection: RouterClient | undefined;
  private token: string | undefined;
  private welcome: WelcomeFrame | undefined;
  /** Sends without `sent`, in the order they were made: resent with their cid on each connect. */
  private readonly outbox = new Map<string, PendingSend>();
  private readonly delivered = new Map<string, Delivered>();
  /** This user's messages held while a send of this client to their chat is unanswered (see holdsOwn). */
  private readonly heldOwn = new Map<string, MessageFrame[]>();
  /** Read marks asked for while not ready (messages arrive during sync, before `ready`): the highest per chat. */
  private readonly unsentReads = new Map<string, number>();
  private stopRequested = false;
  private wake: (() => void) | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: ChatClientOptions) {
    super();
  }

  get state(): ClientState {
    return this.currentState;
  }

  /** The signed-in user, once connected. */
  get user(): string | undefined {
    return this.welcome?.user;
  }

  get device(): string | undefined {
    return this.welcome?.device;
  }

  /** The token the connection runs on now (for media uploads, `Authorization: Bearer`). */
  get currentToken(): string | undefined {
    return this.token;
  }

  /** Sends not yet answered `sent`. */
  get pendingSends(): number {
    return this.outbox.size;
  }

  /**
   * Starts connecting; resolves once connected and synced the first time, rejects when the
   * client stops for good before that (a refused token, too many devices).
   */
  start(): Promise<void> {
    if (this.currentState !== "idle") throw new Error(`start() on a client that is ${this.currentState}`);
    const firstReady = new Promise<void>((resolve, reject) => {
      const offReady = this.on("ready", () => {
        offState();
        offReady();
        resolve();
      });
      const offState = this.on("state", (change) => {
        if (change.state !== "stopped") return;
        offState();
        offReady();
        reject(change.error ?? new ClientStoppedError("stopped"));
      });
    });
    this.running = this.run();
    return firstReady;
  }

  /** Closes the connection and stops reconnecting; unanswered sends are rejected. */
  async stop(): Promise<void> {
    this.stopRequested = true;
    if (this.currentState === "idle") {
      this.finish({ reason: "stopped" });
      return;
    }
    this.wake?.();
    await this.connection?.close();
    await this.running;
  }

  /**
   * Sends a message; resolves when it is durable (`sent`). While disconnected it waits in the
   * outbox, and after a reconnect it goes again with the same `cid`, which the server answers
   * with the first `sent` if the message had already landed.
   */
  send(target: SendTarget, body: Body, options: SendOptions = {}): Promise<SentFrame> {
    if (this.currentState === "stopped") return Promise.reject(new ClientStoppedError("stopped"));
    const cid = options.cid ?? newCid();
    const existing = this.outbox.get(cid);
    if (existing) return new Promise((resolve, reject) => this.chain(existing, resolve, reject));
    const frame = { t: "send", cid, ...target, body, kind: options.kind ?? (options.media ? "media" : undefined), reply: options.reply, media: options.media };
    return new Promise((resolve, reject) => {
      const pending: PendingSend = { frame, resolve, reject, retries: 0 };
      this.outbox.set(cid, pending);
      if (this.currentState === "ready" && this.connection) this.dispatch(pending, this.connection);
    });
  }

  /**
   * Any request frame (without `r`), answered by its answer frame or rejected with a
   * RequestError; waits for the connection when there is none. Not resent after a drop: it
   * rejects with ConnectionClosedError, and the caller decides.
   */
  async request<T extends ServerFrame = ServerFrame>(frame: Record<string, unknown>): Promise<T> {
    const connection = await this.ready();
    return (await connection.request(frame)) as T;
  }

  history(chat: string, options: { before?: number; limit?: number } = {}): Promise<HistoryFrame> {
    return this.request<HistoryFrame>({ t: "history", chat, ...options });
  }

  chats(options: { after?: string; limit?: number } = {}): Promise<ChatsFrame> {
    return this.request<ChatsFrame>({ t: "chats", ...options });
  }

  createGroup(name: string, members: string[]): Promise<GroupFrame> {
    return this.request<GroupFrame>({ t: "group.create", name, members });
  }

  /** Presence of these users arrives as `presence` events (docs/protocol.md, Presence and typing). */
  watch(users: string[]): Promise<WatchingFrame> {
    return this.request<WatchingFrame>({ t: "watch", users });
  }

  /** Typing is ephemeral: dropped, not queued, while disconnected. */
  typing(chat: string, on: boolean): void {
    if (this.currentState === "ready") this.connection?.typing(chat, on);
  }

  /** Marks `chat` read up to `seq`; asked for while not ready, it is sent once ready (the highest per chat). */
  read(chat: string, seq: number): void {
    if (this.currentState === "ready" && this.connection) {
      this.connection.read(chat, seq);
      return;
    }
    if (seq > (this.unsentReads.get(chat) ?? 0)) this.unsentReads.set(chat, seq);
  }

  private chain(pending: PendingSend, resolve: (sent: SentFrame) => void, reject: (error: Error) => void): void {
    const { resolve: first, reject: firstReject } = pending;
    pending.resolve = (sent) => {
      first(sent);
      resolve(sent);
    };
    pending.reject = (error) => {
      firstReject(error);
      reject(error);
    };
  }

  private async ready(): Promise<RouterClient> {
    for (;;) {
      if (this.currentState === "stopped") throw new ClientStoppedError("stopped");
      if (this.currentState === "ready" && this.connection) return this.connection;
      await this.once("state", (change) => change.state === "ready" || change.state === "stopped");
    }
  }

  private setState(change: StateChange): void {
    this.currentState = change.state;
    this.emit("state", change);
  }

  /** The connection loop: one iteration per connection, until a stop. */
  private async run(): Promise<void> {
    let attempt = 0;
    let authFailures = 0;
    let renewToken = false;
    let stopReason: { reason: string; close?: CloseInfo; error?: Error } | undefined;
    while (!this.stopRequested) {
      this.setState({ state: "connecting", attempt });
      const outcome = await this.connectOnce(renewToken);
      renewToken = false;
      if (outcome.kind === "ready") {
        attempt = 0;
        authFailures = 0;
        const close = await outcome.connection.waitForClose();
        this.clearRefresh();
        if (this.stopRequested) break;
        const action = actionForClose(close.code);
        if (action === "stop") {
          stopReason = { reason: `closed with ${close.code}`, close, error: new ConnectionClosedError(close) };
          break;
        }
        renewToken = action === "renew_token";
        if (renewToken && typeof this.options.token === "string") {
          stopReason = { reason: "unauthorized", close, error: new ConnectionClosedError(close) };
          break;
        }
        await this.pause(attempt, close);
        attempt += 1;
        continue;
      }
      if (outcome.kind === "refused") {
        if (outcome.code === "unauthorized") {
          authFailures += 1;
          if (typeof this.options.token === "string" || authFailures >= MAX_AUTH_FAILURES) {
            stopReason = { reason: "unauthorized", error: outcome.error };
            break;
          }
          renewToken = true;
        } else {
          stopReason = { reason: outcome.code, error: outcome.error };
          break;
        }
      }
      if (this.stopRequested) break;
      await this.pause(attempt, "close" in outcome ? outcome.close : undefined, outcome.error);
      attempt += 1;
    }
    this.finish(stopReason ?? { reason: "stopped" });
  }

  private finish(stop: { reason: string; close?: CloseInfo; error?: Error }): void {
    this.clearRefresh();
    const error = new ClientStoppedError(stop.reason);
    for (const pending of this.outbox.values()) pending.reject(error);
    this.outbox.clear();
    this.heldOwn.clear();
    this.setState({ state: "stopped", attempt: 0, close: stop.close, error: stop.error });
  }

  private async pause(attempt: number, close?: CloseInfo, error?: Error): Promise<void> {
    const delayMs = backoffDelay(attempt, this.options.backoff);
    this.setState({ state: "waiting", attempt, delayMs, close, error });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, delayMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = undefined;
  }

  private async connectOnce(renewToken: boolean): Promise<
    | { kind: "ready"; connection: RouterClient }
    | { kind: "failed"; error: Error; close?: CloseInfo }
    | { kind: "refused"; code: string; error: Error }
  > {
    let token: string;
    try {
      token = await this.freshToken(renewToken);
    } catch (error) {
      return { kind: "failed", error: error instanceof Error ? error : new Error(String(error)) };
    }
    let connection: RouterClient;
    try {
      connection = await RouterClient.open(this.options.url, {
        requestTimeoutMs: this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
        WebSocket: this.options.WebSocket,
        keepFrames: false,
        onFrame: (frame) => this.onFrame(frame),
      });
    } catch (error) {
      const close = error instanceof ConnectionClosedError ? error.close : undefined;
      return { kind: "failed", error: error as Error, close };
    }
    this.connection = connection;
    try {
      const synced = await connection.hello(token, this.options.device);
      if (this.stopRequested) {
        await connection.close();
        return { kind: "failed", error: new ClientStoppedError("stopped") };
      }
      this.welcome = connection.welcome;
      this.setState({ state: "ready", attempt: 0 });
      this.scheduleRefresh(connection, tokenExpiry(token));
      for (const pending of this.outbox.values()) this.dispatch(pending, connection);
      for (const [chat, seq] of this.unsentReads) connection.read(chat, seq);
      this.unsentReads.clear();
      this.emit("ready", { welcome: connection.welcome!, synced });
      return { kind: "ready", connection };
    } catch (error) {
      await connection.close();
      if (error instanceof RequestError && !ERROR_CODES[error.frame.code].retriable) {
        return { kind: "refused", code: error.code, error };
      }
      return { kind: "failed", error: error as Error, close: connection.closed };
    }
  }

  /** The token to say hello with: the source's, fetched again when asked or when about to expire. */
  private async freshToken(renew: boolean): Promise<string> {
    const source = this.options.token;
    if (typeof source === "string") return source;
    const expiry = this.token === undefined ? undefined : tokenExpiry(this.token);
    const expiring = expiry !== undefined && expiry - Date.now() < this.refreshBeforeMs();
    if (renew || this.token === undefined || expiring) this.token = await source();
    return this.token;
  }

  private refreshBeforeMs(): number {
    return this.options.refreshBeforeMs ?? DEFAULT_REFRESH_BEFORE_MS;
  }

  /**
   * Moves the connection onto a new token before `expiry`. If the source fails or the server
   * refuses the token, it tries again later; should the token expire first, the server closes
   * with 4001 and the loop fetches a new one before reconnecting.
   */
  private scheduleRefresh(connection: RouterClient, expiry: number | undefined, attempt = 0): void {
    this.clearRefresh();
    const source = this.options.token;
    if (typeof source === "string" || expiry === undefined) return;
    const left = expiry - Date.now();
    const before = this.refreshBeforeMs();
    // A token shorter-lived than the margin is refreshed halfway through its life.
    const delay = attempt > 0 ? backoffDelay(attempt, this.options.backoff) : Math.max(0, before < left ? left - before : left / 2);
    this.refreshTimer = setTimeout(() => {
      void (async () => {
        try {
          const token = await source();
          const answer = (await connection.request({ t: "refresh", token })) as RefreshedFrame;
          if (connection !== this.connection || connection.closed) return;
          this.token = token;
          this.emit("token", { exp: answer.exp });
          this.scheduleRefresh(connection, answer.exp ?? tokenExpiry(token));
        } catch {
          if (connection === this.connection && !connection.closed) this.scheduleRefresh(connection, expiry, attempt + 1);
        }
      })();
    }, delay);
  }

  private clearRefresh(): void {
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
  }

  /** Writes one pending send to `connection` and settles it, or leaves it for the next connect. */
  private dispatch(pending: PendingSend, connection: RouterClient): void {
    if (pending.on === connection) return;
    pending.on = connection;
    const cid = pending.frame.cid as string;
    connection.request(pending.frame).then(
      (answer) => {
        if (this.outbox.get(cid) !== pending) return;
        this.outbox.delete(cid);
        const sent = answer as SentFrame;
        this.markDelivered(sent.chat, sent.seq);
        pending.resolve(sent);
        this.emit("sent", sent);
        this.releaseOwn(sent.chat);
      },
      (error: Error) => {
        if (this.outbox.get(cid) !== pending) return;
        pending.on = undefined;
        if (error instanceof RequestError && !ERROR_CODES[error.frame.code].retriable) {
          this.outbox.delete(cid);
          pending.reject(error);
          this.releaseOwnAll();
          return;
        }
        // Closed: the next connect resends it. Timed out or a retriable error: again on this
        // connection after a backoff, with the same cid, so it can only land once.
        if (error instanceof ConnectionClosedError || connection.closed) return;
        const delay = backoffDelay(pending.retries++, this.options.backoff);
        setTimeout(() => {
          if (this.outbox.get(cid) === pending && this.connection === connection && !connection.closed) this.dispatch(pending, connection);
        }, delay);
      },
    );
  }

  /** Records a position as passed on; false when it already was (a replay after a reconnect). */
  private markDelivered(chat: string, position: number): boolean {
    let delivered = this.delivered.get(chat);
    // The first position seen in a chat starts its watermark: earlier ones predate this client.
    if (!delivered) this.delivered.set(chat, (delivered = { mark: position - 1, above: new Set() }));
    if (position <= delivered.mark || delivered.above.has(position)) return false;
    delivered.above.add(position);
    while (delivered.above.delete(delivered.mark + 1)) delivered.mark += 1;
    return true;
  }

  /**
   * A message from this very user while a send of this client to the same chat is unanswered
   * may be that send: stored before a connection dropped (its `sent` lost with it) and
   * replayed by the next sync before the resend is answered. Held until the chat's sends are
   * answered; then passed on unless a `sent` claimed its position. A message from the user's
   * other devices passes then too, in order.
   */
  private holdsOwn(frame: MessageFrame): boolean {
    const user = this.ownUser;
    if (user === undefined || frame.from !== user || !this.sendsPendingIn(frame.chat, user)) return false;
    const held = this.heldOwn.get(frame.chat);
    if (held) held.push(frame);
    else this.heldOwn.set(frame.chat, [frame]);
    return true;
  }

  /** This client's user: known from the current connection's `welcome` already during its sync. */
  private get ownUser(): string | undefined {
    return this.connection?.welcome?.user ?? this.welcome?.user;
  }

  private sendsPendingIn(chat: string, user: string): boolean {
    for (const { frame } of this.outbox.values()) {
      if ((frame.group ?? directChatId(user, frame.to as string)) === chat) return true;
    }
    return false;
  }

  /** Passes on what holdsOwn held for `chat`, once none of this client's sends to it is unanswered. */
  private releaseOwn(chat: string): void {
    const held = this.heldOwn.get(chat);
    const user = this.ownUser;
    if (!held || (user !== undefined && this.sendsPendingIn(chat, user))) return;
    this.heldOwn.delete(chat);
    for (const frame of held) if (this.markDelivered(frame.chat, frame.seq)) this.emit("message", frame);
  }

  private releaseOwnAll(): void {
    for (const chat of [...this.heldOwn.keys()]) this.releaseOwn(chat);
  }

  private onFrame(frame: ServerFrame): void {
    this.emit("frame", frame);
    switch (frame.t) {
      case "msg":
        if (this.holdsOwn(frame)) return;
        if (this.markDelivered(frame.chat, frame.seq)) this.emit("message", frame);
        return;
      case "edit":
      case "delete":
      case "react":
        if ("pos" in frame && this.markDelivered(frame.chat, frame.pos)) this.emit("event", frame);
        return;
      case "skip":
        this.markDelivered(frame.chat, frame.pos);
        return;
      case "receipt":
        this.emit("receipt", frame);
        return;
      case "typing":
        this.emit("typing", frame);
        return;
      case "presence":
        this.emit("presence", frame);
        return;
      case "group.invite":
        this.emit("invite", frame);
        return;
      case "keys.low":
        this.emit("keysLow", frame);
        return;
      case "status.new":
      case "status.viewed":
        this.emit("status", frame);
        return;
      case "err":
        if (frame.r === undefined) this.emit("refused", frame);
        return;
      default:
        if (frame.t.startsWith("call.") && !("r" in frame)) this.emit("call", frame as CallServerFrame);
    }
  }
}
