import { InvalidTokenError, verifyToken } from "../../auth/tokens.ts";
import type { RefreshFrame } from "../../protocol/frames.ts";
import type { ClientConnection } from "../connection.ts";
import type { SessionContext, SomeFrameHandlers } from "../session-context.ts";

/**
 * A newer token for the same user, and for this device when it names one, moves the
 * connection's expiry. A refused refresh leaves the connection as it was (it still runs
 * on its current token, until that expires): a client whose refresh went wrong keeps its
 * session and can try again with another token.
 */
async function refresh(session: SessionContext, connection: ClientConnection, frame: RefreshFrame): Promise<void> {
  let claims;
  try {
    claims = await verifyToken(session.deps.secret, frame.token);
  } catch (error) {
    if (!(error instanceof InvalidTokenError)) throw error;
    session.reject(connection, "unauthorized", error.message, frame.r);
    return;
  }
  if (!connection.open) return;
  const refused =
    claims.user !== connection.user
      ? "this token is for another user"
      : claims.device !== undefined && claims.device !== connection.device
        ? "this token is for another device"
        : session.revoked(claims, connection.device);
  if (refused) {
    session.reject(connection, "unauthorized", refused, frame.r);
    return;
  }
  connection.tokenIssuedAt = claims.issuedAt;
  connection.expireAt(claims.expiresAt);
  connection.send({ t: "refreshed", r: frame.r, ...(claims.expiresAt !== undefined ? { exp: claims.expiresAt } : {}) });
}

/** The connection itself after hello: liveness, its token, and whose presence it watches. */
export const SESSION_HANDLERS = {
  ping: (_session, connection, frame) => connection.send({ t: "pong", r: frame.r, ts: Date.now() }),
  refresh: (session, connection, frame) => {
    refresh(session, connection, frame).catch((error: unknown) => {
      session.deps.log.error({ err: error, conn: connection.id }, "refresh failed");
      session.reject(connection, "internal", "refresh failed", frame.r);
    });
  },
  watch: (session, connection, frame) => {
    session.deps.presence.watch(connection.ref, connection.user, frame.users, frame.r).catch((error: unknown) => {
      session.deps.log.warn({ err: error, conn: connection.id }, "watch failed");
      if (frame.r !== undefined) session.reject(connection, "unavailable", "presence is unavailable; retry", frame.r);
    });
  },
} satisfies SomeFrameHandlers;
