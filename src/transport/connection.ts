import type { WebSocket } from "../uws.ts";
import type { CloseCode, ConnectionRef, FrameShare } from "../seams.ts";
import { encodeFrame } from "../protocol/codec.ts";
import { CLOSE_CODES, type ServerFrame } from "../protocol/frames.ts";
import type { Logger } from "../util/logger.ts";
import { TokenBucket } from "./rate-limiter.ts";
import type { FlushQueue } from "./flush-queue.ts";
import type { DeadlineOwner, RequestDeadlines } from "./request-deadlines.ts";
import type { Expiring, TokenExpiries } from "./token-expiries.ts";
import type { ConnectionTimes, TimedConnection } from "../observability/latency.ts";

/** What uWS keeps per socket: only our connection object. */
export interface SocketData {
  connection?: ClientConnection;
  remoteAddress: string;
}

export type ConnectionPhase = "awaiting_hello" | "authenticating" | "ready" | "closed";

export interface OutboundLimits {
  softBackpressureBytes: number;
}

/** What every connection of the node shares: one write per turn, one sweep of deadlines. */
export interface ConnectionsShared {
  flushes: FlushQueue;
  /** A request not answered within its `timeoutMs` is answered `timeout` (0: never). */
  deadlines: RequestDeadlines;
  /** Closes connections whose token ran out. */
  expiries: TokenExpiries;
}

export interface OutboundEvents {
  framesOut(count: number): void;
  /** Each frame handed to the connection, before it is encoded (latency metrics read a few kinds). */
  sending?(connection: ClientConnection, frame: ServerFrame): void;
  droppedEphemeral(): void;
  slowConsumer(): void;
}

const SEND_DROPPED = 2;
// Requests answered `timeout` whose real answer may still come, and must then be dropped:
// one answer per `r`. Bounded, oldest forgotten first; a client that far behind has moved on.
const MAX_EXPIRED_REMEMBERED = 1024;

// The connection being written and what its write found, for the one cork callback of the
// module: a closure per write would be garbage per frame batch.
let corked: ClientConnection | undefined;
let corkedDropped = false;
function writeCorked(): void {
  corkedDropped = corked!.writeOutbox();
}

/**
 * One client socket as the rest of the node sees it: `send(frame)` and `close(code)`.
 * Frames produced in one turn of the event loop are written corked, in one syscall.
 * Every call is safe after the socket closed.
 */
export class ClientConnection implements DeadlineOwner, Expiring, TimedConnection {
  phase: ConnectionPhase = "awaiting_hello";
  user = "";
  device = "";
  readonly ref: ConnectionRef;
  readonly bucket: TokenBucket;
  /**
   * This connection's share of its user's frame budget across all their connections. Until
   * the user's actor sends the real share (right after `hello`), a conservative default.
   */
  readonly userBucket: TokenBucket;
  helloTimer: NodeJS.Timeout | undefined;
  /** When the token this connection runs on was issued (ms): a revocation at or after it closes the connection. */
  tokenIssuedAt = 0;
  /** The client-side latencies' clocks (ClientLatency alone writes this). */
  latency: ConnectionTimes | undefined;
  /** Where the node's TokenExpiries holds this connection (it alone writes this). */
  expiryBucket: number | undefined;
  /** When the socket opened (performance.now()), for the connection's duration in the log. */
  readonly openedAt = performance.now();
  /** Frames that arrived while the hello token was being checked, handled once it is. */
  readonly earlyFrames: unknown[] = [];
  /** Whether the user's actor has sent this connection its share yet. */
  private gotShare = false;
  /**
   * Frames produced since the last write. One array for the connection's life, emptied after
   * each write, never replaced: a fresh array per write lives until the connection's next
   * frame, long enough to reach the old generation, and a dead array there keeps the frames
   * put in it alive through every young-generation GC until a full one (measured: about 0.7 KB
   * per direct message promoted).
   */
  private readonly outbox: Uint8Array[] = [];
  private flushScheduled = false;
  /** Requests handed on and not answered yet: `r` → when it is due (the node's sweep expires it). */
  // Both made on first use, the first dropped again once empty: an idle connection (most of them) holds neither.
  private awaitingAnswer: Map<number, number> | undefined;
  private expired: Set<number> | undefined;

  constructor(
    private readonly ws: WebSocket<SocketData>,
    nodeId: string,
    id: number,
    bucket: TokenBucket,
    userBucket: TokenBucket,
    private readonly limits: OutboundLimits,
    private readonly shared: ConnectionsShared,
    private readonly events: OutboundEvents,
    private readonly log: Logger,
  ) {
    this.ref = { node: nodeId, id };
    this.bucket = bucket;
    this.userBucket = userBucket;
  }

  /** Both budgets allow one more inbound frame; the user's is not spent if the connection's refuses. */
  takeFrame(): boolean {
    const now = performance.now();
    return this.bucket.take(now) && this.userBucket.take(now);
  }

  /**
   * The first share comes with its full burst, as a connection's own bucket starts full: a
   * device catching up after reconnect acks hundreds of messages at once. So a reconnect gets
   * a fresh burst, as it gets a fresh bucket of its own; reconnecting costs a handshake, a
   * token check and a sync, far more than the frames. Later shares (another device came or
   * went) only change the rate and cap what is saved.
   */
  setShare(share: FrameShare): void {
    if (!this.open) return;
    this.userBucket.resize(share.framesPerSecond, share.burst, !this.gotShare);
    this.gotShare = true;
  }

  get id(): number {
    return this.ref.id;
  }

  get open(): boolean {
    return this.phase !== "closed";
  }

  /**
   * Starts the answer deadline of request `r`, handed to an actor that may be on a node that
   * just died: the client then hears `timeout` from here, promptly, instead of nothing.
   */
  awaitAnswer(r: number): void {
    const deadlines = this.shared.deadlines;
    if (deadlines.timeoutMs <= 0 || !this.open) return;
    (this.awaitingAnswer ??= new Map()).set(r, deadlines.start(this, r));
  }

  /** The node's sweep: request `r` reached the deadline `dueAt` (unless answered or restarted since). */
  expire(r: number, dueAt: number): void {
    if (this.awaitingAnswer?.get(r) !== dueAt) return;
    this.answered(r);
    this.send({ t: "err", r, code: "timeout", msg: `not answered within ${this.shared.deadlines.timeoutMs} ms; retry (sends with the same cid)` });
    const expired = (this.expired ??= new Set());
    expired.add(r);
    if (expired.size > MAX_EXPIRED_REMEMBERED) expired.delete(expired.values().next().value!);
  }

  private answered(r: number): void {
    const awaiting = this.awaitingAnswer;
    // Dropped once empty, not kept: an idle connection (answered its hello) then holds no map.
    if (awaiting?.delete(r) && awaiting.size === 0) this.awaitingAnswer = undefined;
  }

  /**
   * The connection lives as long as its token: once `expiresAt` (ms; undefined: never) has
   * passed it is closed with 4001, by the node's sweep (TokenExpiries). A refreshed token
   * replaces the deadline.
   */
  expireAt(expiresAt: number | undefined): void {
    const expiries = this.shared.expiries;
    expiries.remove(this);
    if (expiresAt === undefined || !this.open) return;
    if (expiresAt <= Date.now()) {
      this.tokenExpired();
      return;
    }
    expiries.add(this, expiresAt);
  }

  tokenExpired(): void {
    this.close(CLOSE_CODES.unauthorized, "token expired");
  }

  send(frame: ServerFrame, ephemeral = false): void {
    if (!this.open) return;
    this.events.sending?.(this, frame);
    const r = (frame as { r?: unknown }).r;
    if (typeof r === "number") {
      if (this.expired?.delete(r)) return;
      this.answered(r);
    }
    if (ephemeral && this.ws.getBufferedAmount() > this.limits.softBackpressureBytes) {
      this.events.droppedEphemeral();
      return;
    }
    this.outbox.push(encodeFrame(frame));
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.shared.flushes.add(this);
    }
  }

  /** Writes what is waiting, corked: the node's FlushQueue calls it once per turn. */
  flush(): void {
    this.flushScheduled = false;
    const frames = this.outbox;
    const count = frames.length;
    if (count === 0) return;
    if (!this.open) {
      frames.length = 0;
      return;
    }
    corked = this;
    this.ws.cork(writeCorked);
    corked = undefined;
    const dropped = corkedDropped;
    corkedDropped = false;
    // Emptied, not replaced (see `outbox`). Nothing runs JavaScript inside the cork, so no frame came in meanwhile.
    frames.length = 0;
    this.events.framesOut(count);
    if (dropped) {
      // A durable frame could not be buffered: the client resyncs from its cursors.
      this.events.slowConsumer();
      this.log.warn({ conn: this.id, user: this.user }, "slow consumer disconnected");
      this.close(CLOSE_CODES.slow_consumer, "send buffer full; reconnect to resync");
    }
  }

  /** Inside the cork (writeCorked): the frames waiting, in order; true when uWS refused one (the rest are not tried). */
  writeOutbox(): boolean {
    const frames = this.outbox;
    for (let i = 0; i < frames.length; i += 1) {
      if (this.ws.send(frames[i]!, true, false) === SEND_DROPPED) return true;
    }
    return false;
  }

  close(code: CloseCode, reason: string): void {
    if (!this.open) return;
    // Frames already produced (an error explaining the close) go out first.
    this.flush();
    this.markClosed();
    this.ws.end(code, reason);
  }

  /** Called from uWS' close handler, and by close(): the socket must not be touched after. */
  markClosed(): void {
    this.phase = "closed";
    this.outbox.length = 0;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.shared.expiries.remove(this);
    this.awaitingAnswer = undefined;
  }
}
