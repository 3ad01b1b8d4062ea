import type { CLOSE_CODES, ServerFrame } from "./protocol/frames.ts";

// The interfaces where the layers meet: how actors reach client connections wherever the
// socket is, and how anyone reaches an actor. Plain types over protocol only, so transport,
// cluster, keys and push take them from here rather than from the actors above them.

/**
 * Where a client connection lives: the node holding its socket and the socket's id there.
 * Plain data, so actor messages stay serialisable when they cross nodes.
 */
export interface ConnectionRef {
  node: string;
  id: number;
}

/** A request waiting for its answer: the connection and the client's `r`. */
export interface ReplyTo {
  conn: ConnectionRef;
  r: number;
}

export type CloseCode = (typeof CLOSE_CODES)[keyof typeof CLOSE_CODES];

/** How actors reach client connections, wherever the socket is. */
export interface ClientLink {
  /** `ephemeral` frames (typing, presence) may be dropped under backpressure; others never silently. */
  send(conn: ConnectionRef, frame: ServerFrame, ephemeral?: boolean): void;
  close(conn: ConnectionRef, code: CloseCode, reason: string): void;
  /** Closes every connection of `user` (after its actor lost track of them). */
  closeUser(user: string, code: CloseCode, reason: string): void;
  /** Sets the connection's share of its user's frame budget (from the user's actor). */
  limit(conn: ConnectionRef, share: FrameShare): void;
}

/** What one connection may send of its user's frame budget: a rate and a burst, in frames. */
export interface FrameShare {
  framesPerSecond: number;
  burst: number;
}

/**
 * One of `ways` equal shares of a user's frame budget. Equal, not by use: shares by use would
 * need every connection to report its traffic to the user's actor, a message per connection
 * per interval, for a budget that exists to stop floods, not to schedule fairly. The burst is
 * at least one frame, or a share would refuse everything.
 */
export function shareOf(budget: FrameShare, ways: number): FrameShare {
  const n = Math.max(1, ways);
  return { framesPerSecond: budget.framesPerSecond / n, burst: Math.max(1, budget.burst / n) };
}

/** Reaches the actor named by `key` (a user id, a chat id), activating it if it is not live. */
export interface Tell<Msg> {
  tell(key: string, message: Msg): void;
}

/** Reaches the actor named by `key` only if it is live; false when it was not (nothing is activated). */
export interface TellIfActive<Msg> {
  tellIfActive(key: string, message: Msg): boolean;
}
