import { InvalidTokenError, verifyToken } from "../auth/tokens.ts";
import { decodeValue, UndecodableFrameError } from "../protocol/codec.ts";
import { CLOSE_CODES, DEFAULT_DEVICE, type ClientFrame, type ErrorCode, type HelloFrame } from "../protocol/frames.ts";
import { validateFrame } from "../protocol/validate.ts";
import type { ClientConnection } from "./connection.ts";
import { FRAME_HANDLERS } from "./handlers/table.ts";
import { SessionContext, type FrameHandler, type ReadyFrame, type SessionDeps } from "./session-context.ts";

export type { SessionDeps } from "./session-context.ts";

/** Frames a client may pipeline behind `hello` before the token is checked. */
const MAX_EARLY_FRAMES = 256;

/**
 * What each inbound frame means for a connection: decode, validate, authenticate, then hand
 * to the user's or the chat's actor. Nothing unvalidated goes past this module.
 */
export class SessionProtocol {
  private readonly session: SessionContext;

  constructor(private readonly deps: SessionDeps) {
    this.session = new SessionContext(deps);
  }

  onBytes(connection: ClientConnection, bytes: Uint8Array): void {
    this.deps.events.frameIn();
    let value: unknown;
    try {
      value = decodeValue(bytes);
    } catch (error) {
      if (!(error instanceof UndecodableFrameError)) throw error;
      this.reject(connection, "bad_frame", "bytes are not MessagePack");
      connection.close(CLOSE_CODES.unsupported_data, "frames are MessagePack");
      return;
    }
    // The connection's own limit, then its share of the user's budget across every device.
    if (!connection.takeFrame()) {
      this.reject(connection, "rate_limited", "too many frames; slow down", requestIdOf(value));
      return;
    }
    if (connection.phase === "authenticating") {
      if (connection.earlyFrames.length >= MAX_EARLY_FRAMES) {
        this.reject(connection, "rate_limited", "wait for `welcome` before sending more", requestIdOf(value));
      } else {
        connection.earlyFrames.push(value);
      }
      return;
    }
    this.onValue(connection, value);
  }

  onText(connection: ClientConnection): void {
    this.deps.events.frameIn();
    this.reject(connection, "bad_frame", "frames are binary WebSocket messages");
  }

  private onValue(connection: ClientConnection, value: unknown): void {
    const result = validateFrame(value);
    if (!result.ok) {
      this.reject(connection, result.code, result.msg, result.r);
      return;
    }
    const frame = result.frame;
    this.deps.events.received?.(connection, frame);
    if (this.deps.events.handle) this.deps.events.handle(connection, frame, () => this.route(connection, frame));
    else this.route(connection, frame);
  }

  private route(connection: ClientConnection, frame: ClientFrame): void {
    if (connection.phase === "awaiting_hello") {
      if (frame.t !== "hello") {
        this.reject(connection, "hello_required", "the first frame must be `hello`", "r" in frame ? frame.r : undefined);
        return;
      }
      this.onHello(connection, frame).catch((error: unknown) => {
        this.deps.log.error({ err: error, conn: connection.id }, "hello failed");
        this.reject(connection, "internal", "hello failed", frame.r);
        connection.close(CLOSE_CODES.going_away, "hello failed");
      });
      return;
    }
    if (frame.t === "hello") {
      this.reject(connection, "already_authenticated", "this connection already said hello", frame.r);
      return;
    }
    this.onFrame(connection, frame);
  }

  private async onHello(connection: ClientConnection, hello: HelloFrame): Promise<void> {
    connection.phase = "authenticating";
    let claims;
    try {
      claims = await verifyToken(this.deps.secret, hello.token);
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      this.reject(connection, "unauthorized", error.message, hello.r);
      connection.close(CLOSE_CODES.unauthorized, "unauthorized");
      return;
    }
    if (!connection.open) return;
    const device = hello.device ?? claims.device ?? DEFAULT_DEVICE;
    const refused = claims.device !== undefined && claims.device !== device ? "this token is for another device" : this.session.revoked(claims, device);
    if (refused) {
      this.reject(connection, "unauthorized", refused, hello.r);
      connection.close(CLOSE_CODES.unauthorized, "unauthorized");
      return;
    }
    if (connection.helloTimer) clearTimeout(connection.helloTimer);
    // Dropped, not only cleared: an idle connection would keep the spent timer alive.
    connection.helloTimer = undefined;
    connection.user = claims.user;
    connection.device = device;
    connection.phase = "ready";
    this.deps.connectionLog?.hello(connection.id, claims.user, device);
    // Checked and bound in one turn: a revocation polled after this finds the connection.
    connection.tokenIssuedAt = claims.issuedAt;
    connection.expireAt(claims.expiresAt);
    if (!connection.open) return;
    this.deps.registry.bindUser(connection);
    connection.awaitAnswer(hello.r);
    this.deps.users.tell(claims.user, { type: "attach", device, conn: connection.ref, r: hello.r });
    for (const early of connection.earlyFrames.splice(0)) {
      if (!connection.open) break;
      this.onValue(connection, early);
    }
  }

  /**
   * One table lookup per frame. Everything but a ping is answered by an actor or a store, which
   * may never answer (a node that died holding the actor): the connection then answers
   * `timeout` itself.
   */
  private onFrame(connection: ClientConnection, frame: ReadyFrame): void {
    if (frame.t !== "ping" && "r" in frame && typeof frame.r === "number") connection.awaitAnswer(frame.r);
    // The table pairs each `t` with its frame's type; TypeScript cannot follow that through an index.
    (FRAME_HANDLERS[frame.t] as FrameHandler<ReadyFrame>)(this.session, connection, frame);
  }

  private reject(connection: ClientConnection, code: ErrorCode, msg: string, r?: number): void {
    this.session.reject(connection, code, msg, r);
  }
}

function requestIdOf(value: unknown): number | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const r = (value as { r?: unknown }).r;
  return typeof r === "number" && Number.isSafeInteger(r) && r >= 0 ? r : undefined;
}
