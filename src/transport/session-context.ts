import type { ConversationMessage, UserMessage } from "../actors/messages.ts";
import type { ConnectionRef, Tell, TellIfActive } from "../seams.ts";
import type { VerifiedToken } from "../auth/tokens.ts";
import {
  directChatMembers,
  isGroupChat,
  type CallRequestFrame,
  type ClientFrame,
  type ContactsSyncFrame,
  type ErrorCode,
  type HelloFrame,
  type KeysGetFrame,
  type KeysPutFrame,
  type ProfileRequestFrame,
  type PushRequestFrame,
  type ServerFrame,
  type StatusRequestFrame,
} from "../protocol/frames.ts";
import { StorageUnavailableError } from "../storage/errors.ts";
import type { Logger } from "../util/logger.ts";
import type { ClientConnection } from "./connection.ts";
import type { ConnectionRegistry } from "./registry.ts";

/** What the session needs of its node: the actors, the services, the log and the counters. */
export interface SessionDeps {
  secret: string;
  registry: ConnectionRegistry;
  users: Tell<UserMessage>;
  conversations: Tell<ConversationMessage> & TellIfActive<ConversationMessage>;
  presence: { watch(conn: ConnectionRef, viewer: string, users: string[], r?: number): Promise<void> };
  /** The prekey service; without it `keys.*` are answered `unavailable`. */
  keys?: {
    put(user: string, device: string, frame: KeysPutFrame): Promise<ServerFrame>;
    get(requester: string, frame: KeysGetFrame): Promise<ServerFrame>;
  };
  /** Push registrations and preferences; without it `push.*` are answered `unavailable`. */
  push?: { handle(user: string, device: string, frame: PushRequestFrame): Promise<ServerFrame> };
  /** Contact discovery (`contacts.sync`); without it sync is answered `unavailable`. */
  discovery?: { sync(user: string, frame: ContactsSyncFrame): Promise<ServerFrame> };
  /** Token revocations (`router token revoke`); without it no token is revoked. */
  revocations?: { isRevoked(user: string, device: string, issuedAt: number): boolean; isDeleted(user: string): boolean };
  /** The `chats` list (src/accounts/chat-list.ts); without it `chats` is answered `unavailable`. */
  chats?: { list(user: string, r: number, after: string | undefined, limit: number | undefined): Promise<ServerFrame> };
  /** Profiles (src/accounts/profiles.ts); without it `profile.*` are answered `unavailable`. */
  profiles?: { handle(user: string, frame: ProfileRequestFrame): Promise<ServerFrame> };
  /** Account deletion (src/accounts/delete-account.ts); without it `account.delete` is answered `unavailable`. */
  deletion?: { removeData(user: string): Promise<void>; tombstone(user: string): Promise<void> };
  /** Call signalling and TURN credentials (src/calls/); without it `call.*` are answered `unavailable`. */
  calls?: { handle(conn: ConnectionRef, user: string, device: string, frame: CallRequestFrame): void };
  /** Status updates (src/status/); without it `status.*` are answered `unavailable`. It turns (and logs) its own failures into `err` frames. */
  status?: { handle(user: string, frame: StatusRequestFrame): Promise<ServerFrame | undefined> };
  log: Logger;
  /** Logs each connection's hello (user and device) with its id; never the token. */
  connectionLog?: { hello(conn: number, user: string, device: string): void };
  events: {
    frameIn(): void;
    rejected(code: ErrorCode): void;
    /** Each validated frame, before it is handled: latency clocks start here. */
    received?(connection: ClientConnection, frame: ClientFrame): void;
    /**
     * Runs the handling of each validated frame (tracing opens its span around it). Set only
     * when tracing is on: without it a frame is handled directly, with no closure per frame.
     */
    handle?(connection: ClientConnection, frame: ClientFrame, run: () => void): void;
  };
}

/** Handles one validated frame of type `F` for a ready connection. */
export type FrameHandler<F> = (session: SessionContext, connection: ClientConnection, frame: F) => void;

/**
 * One handler per frame type of `F`, keyed by its `t`. A family's table `satisfies`
 * `SomeFrameHandlers` (so each handler's frame is typed by its key); the session's whole
 * table is a `FrameHandlers` of every frame after hello, so a frame without a handler does
 * not compile.
 */
export type FrameHandlers<F extends { t: string }> = { readonly [T in F["t"]]: FrameHandler<Extract<F, { t: T }>> };

/** Every frame a ready connection may send; hello is the session's own (it makes a connection ready). */
export type ReadyFrame = Exclude<ClientFrame, HelloFrame>;

/** A family's handlers, each typed by its key. */
export type SomeFrameHandlers = Partial<FrameHandlers<ReadyFrame>>;

/** A frame a service answers, by its type and request id. */
interface Request {
  t: string;
  r?: number;
}

/**
 * What the frame handlers share: the node's services, the error answer, and the checks that
 * stand between a frame and an actor. One per node, not per frame or connection.
 */
export class SessionContext {
  constructor(readonly deps: SessionDeps) {}

  reject(connection: ClientConnection, code: ErrorCode, msg: string, r?: number): void {
    this.deps.events.rejected(code);
    connection.send({ t: "err", r, code, msg });
  }

  /**
   * Direct chats name their members, so a non-member is refused here; a group's members are
   * known to its actor, which checks them.
   */
  mayBeMember(connection: ClientConnection, chat: string, r?: number): boolean {
    if (isGroupChat(chat) || directChatMembers(chat)?.includes(connection.user)) return true;
    this.reject(connection, "forbidden", `not a member of ${chat}`, r);
    return false;
  }

  /**
   * A deleted account's id takes nothing any more: no message and no group would reach anyone,
   * and storing them would keep state for a user that no longer exists.
   */
  mayName(connection: ClientConnection, users: readonly string[], r: number): boolean {
    const deleted = users.filter((named) => this.deps.revocations?.isDeleted(named));
    if (deleted.length === 0) return true;
    this.reject(connection, "not_found", `no such user: ${deleted.join(", ")}`, r);
    return false;
  }

  revoked(claims: VerifiedToken, device: string): string | undefined {
    return this.deps.revocations?.isRevoked(claims.user, device, claims.issuedAt) ? "this token was revoked" : undefined;
  }

  /**
   * Sends what a service answered (nothing when it answered nothing). A failure is logged and
   * answered `internal`; with `retry`, a store that is down is `unavailable` (and a warning),
   * and the client is told to retry.
   */
  answer(connection: ClientConnection, frame: Request, answer: Promise<ServerFrame | undefined>, retry = false): void {
    answer.then(
      (reply) => reply && connection.send(reply),
      (error: unknown) => this.failed(connection, frame, error, retry),
    );
  }

  failed(connection: ClientConnection, frame: Request, error: unknown, retry: boolean): void {
    const unavailable = retry && error instanceof StorageUnavailableError;
    this.deps.log[unavailable ? "warn" : "error"]({ err: error, conn: connection.id }, `${frame.t} failed`);
    this.reject(connection, unavailable ? "unavailable" : "internal", retry ? `${frame.t} failed; retry` : `${frame.t} failed`, frame.r);
  }
}
