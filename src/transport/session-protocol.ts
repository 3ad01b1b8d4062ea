import { randomBytes } from "node:crypto";
import type { ConversationMessage, UserMessage } from "../actors/messages.ts";
import type { ConnectionRef, Tell, TellIfActive } from "../seams.ts";
import { InvalidTokenError, verifyToken, type VerifiedToken } from "../auth/tokens.ts";
import { decodeValue, UndecodableFrameError } from "../protocol/codec.ts";
import {
  CLOSE_CODES,
  DEFAULT_DEVICE,
  directChatId,
  directChatMembers,
  HISTORY_DEFAULT_LIMIT,
  isGroupChat,
  type ClientFrame,
  type ContactsSyncFrame,
  type ErrorCode,
  type HelloFrame,
  type KeysGetFrame,
  type KeysPutFrame,
  type CallRequestFrame,
  type StatusRequestFrame,
  type PushRequestFrame,
  type ProfileRequestFrame,
  type RefreshFrame,
  type ServerFrame,
} from "../protocol/frames.ts";
import { validateFrame } from "../protocol/validate.ts";
import type { PrivacySettings } from "../storage/privacy.ts";
import { StorageUnavailableError } from "../storage/errors.ts";
import { BadCursorError } from "../accounts/chat-list.ts";
import type { Logger } from "../util/logger.ts";
import type { ClientConnection } from "./connection.ts";
import type { ConnectionRegistry } from "./registry.ts";

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
    /** Runs the handling of each validated frame: metrics start their clocks, tracing opens its span. */
    handle?(connection: ClientConnection, frame: ClientFrame, run: () => void): void;
  };
}

/** Frames a client may pipeline behind `hello` before the token is checked. */
const MAX_EARLY_FRAMES = 256;

/**
 * What each inbound frame means for a connection: decode, validate, authenticate, then hand
 * to the user's or the chat's actor. Nothing unvalidated goes past this module.
 */
export class SessionProtocol {
  constructor(private readonly deps: SessionDeps) {}

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
    const refused = claims.device !== undefined && claims.device !== device ? "this token is for another device" : this.revoked(claims, device);
    if (refused) {
      this.reject(connection, "unauthorized", refused, hello.r);
      connection.close(CLOSE_CODES.unauthorized, "unauthorized");
      return;
    }
    if (connection.helloTimer) clearTimeout(connection.helloTimer);
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

  private revoked(claims: VerifiedToken, device: string): string | undefined {
    return this.deps.revocations?.isRevoked(claims.user, device, claims.issuedAt) ? "this token was revoked" : undefined;
  }

  /**
   * A newer token for the same user, and for this device when it names one, moves the
   * connection's expiry. A refused refresh leaves the connection as it was (it still runs
   * on its current token, until that expires): a client whose refresh went wrong keeps its
   * session and can try again with another token.
   */
  private async onRefresh(connection: ClientConnection, frame: RefreshFrame): Promise<void> {
    let claims;
    try {
      claims = await verifyToken(this.deps.secret, frame.token);
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      this.reject(connection, "unauthorized", error.message, frame.r);
      return;
    }
    if (!connection.open) return;
    const refused =
      claims.user !== connection.user
        ? "this token is for another user"
        : claims.device !== undefined && claims.device !== connection.device
          ? "this token is for another device"
          : this.revoked(claims, connection.device);
    if (refused) {
      this.reject(connection, "unauthorized", refused, frame.r);
      return;
    }
    connection.tokenIssuedAt = claims.issuedAt;
    connection.expireAt(claims.expiresAt);
    connection.send({ t: "refreshed", r: frame.r, ...(claims.expiresAt !== undefined ? { exp: claims.expiresAt } : {}) });
  }

  private onFrame(connection: ClientConnection, frame: Exclude<ClientFrame, HelloFrame>): void {
    const user = connection.user;
    // Everything but a ping is answered by an actor or a store, which may never answer (a
    // node that died holding the actor): the connection then answers `timeout` itself.
    if (frame.t !== "ping" && "r" in frame && typeof frame.r === "number") connection.awaitAnswer(frame.r);
    switch (frame.t) {
      case "ping":
        connection.send({ t: "pong", r: frame.r, ts: Date.now() });
        return;
      case "refresh":
        this.onRefresh(connection, frame).catch((error: unknown) => {
          this.deps.log.error({ err: error, conn: connection.id }, "refresh failed");
          this.reject(connection, "internal", "refresh failed", frame.r);
        });
        return;
      case "send": {
        if (frame.to !== undefined && !this.mayName(connection, [frame.to], frame.r)) return;
        const chat = frame.group ?? directChatId(user, frame.to!);
        this.deps.conversations.tell(chat, {
          type: "send",
          from: user,
          device: connection.device,
          cid: frame.cid,
          body: frame.body,
          kind: frame.kind ?? "text",
          reply: frame.reply,
          media: frame.media,
          replyTo: { conn: connection.ref, r: frame.r },
        });
        return;
      }
      case "group.create":
        if (!this.mayName(connection, frame.members, frame.r)) return;
        this.deps.conversations.tell(newGroupId(), { type: "group", user, command: frame, replyTo: { conn: connection.ref, r: frame.r } });
        return;
      case "group.add":
        if (!this.mayName(connection, frame.users, frame.r)) return;
        this.deps.conversations.tell(frame.chat, { type: "group", user, command: frame, replyTo: { conn: connection.ref, r: frame.r } });
        return;
      case "group.remove":
      case "group.leave":
      case "group.info":
      case "group.admin":
      case "group.join":
        this.deps.conversations.tell(frame.chat, { type: "group", user, command: frame, replyTo: { conn: connection.ref, r: frame.r } });
        return;
      case "edit":
      case "delete":
      case "react":
        if (!this.mayBeMember(connection, frame.chat, frame.r)) return;
        this.deps.conversations.tell(frame.chat, {
          type: "operation",
          user,
          device: connection.device,
          operation: frame,
          replyTo: { conn: connection.ref, r: frame.r },
        });
        return;
      case "history":
        if (!this.mayBeMember(connection, frame.chat, frame.r)) return;
        this.deps.conversations.tell(frame.chat, {
          type: "history",
          user,
          before: frame.before,
          limit: frame.limit ?? HISTORY_DEFAULT_LIMIT,
          replyTo: { conn: connection.ref, r: frame.r },
        });
        return;
      case "receipts":
        if (!this.mayBeMember(connection, frame.chat, frame.r)) return;
        this.deps.conversations.tell(frame.chat, { type: "receipts", user, seq: frame.seq, replyTo: { conn: connection.ref, r: frame.r } });
        return;
      case "ack":
        if (!this.mayBeMember(connection, frame.chat)) return;
        this.deps.users.tell(user, { type: "ack", device: connection.device, conn: connection.ref, chat: frame.chat, seq: frame.seq });
        return;
      case "read":
        if (!this.mayBeMember(connection, frame.chat)) return;
        this.deps.users.tell(user, { type: "read", chat: frame.chat, seq: frame.seq });
        return;
      case "typing":
        // Typing goes nowhere for a non-member, and is not worth an answer either way. It is
        // ephemeral, so it never wakes a chat's actor (a made-up chat would otherwise hold one
        // for the idle timeout): a live actor relays it; otherwise the chat's behaviour does
        // what it can without one (see `missed` in conversation-actor.ts).
        if (isGroupChat(frame.chat) || directChatMembers(frame.chat)?.includes(user)) {
          this.deps.conversations.tellIfActive(frame.chat, { type: "typing", user, on: frame.on });
        }
        return;
      case "keys.put":
      case "keys.get": {
        const keys = this.deps.keys;
        if (!keys) {
          this.reject(connection, "unavailable", "this node has no prekey service", frame.r);
          return;
        }
        const answer = frame.t === "keys.put" ? keys.put(user, connection.device, frame) : keys.get(user, frame);
        answer.then(
          (reply) => connection.send(reply),
          (error: unknown) => {
            this.deps.log.error({ err: error, conn: connection.id }, `${frame.t} failed`);
            this.reject(connection, "internal", `${frame.t} failed`, frame.r);
          },
        );
        return;
      }
      case "privacy.set":
      case "privacy.get": {
        // The user's actor owns their settings: it saves them and tells presence.
        const changes: Partial<PrivacySettings> = {};
        if (frame.t === "privacy.set") {
          if (frame.last_seen) changes.lastSeen = frame.last_seen;
          if (frame.online) changes.online = frame.online;
          if (frame.groups) changes.groups = frame.groups;
          if (frame.profile) changes.profile = frame.profile;
        }
        this.deps.users.tell(user, { type: "privacy", changes, replyTo: { conn: connection.ref, r: frame.r } });
        return;
      }
      case "profile.set":
      case "profile.get": {
        const profiles = this.deps.profiles;
        if (!profiles) {
          this.reject(connection, "unavailable", "this node keeps no profiles", frame.r);
          return;
        }
        profiles.handle(user, frame).then(
          (answer) => connection.send(answer),
          (error: unknown) => {
            const unavailable = error instanceof StorageUnavailableError;
            this.deps.log[unavailable ? "warn" : "error"]({ err: error, conn: connection.id }, `${frame.t} failed`);
            this.reject(connection, unavailable ? "unavailable" : "internal", `${frame.t} failed; retry`, frame.r);
          },
        );
        return;
      }
      case "contacts.sync": {
        const discovery = this.deps.discovery;
        if (!discovery) {
          this.reject(connection, "unavailable", "this node has no contact discovery", frame.r);
          return;
        }
        discovery.sync(user, frame).then(
          (answer) => connection.send(answer),
          (error: unknown) => {
            this.deps.log.error({ err: error, conn: connection.id }, "contacts.sync failed");
            this.reject(connection, "internal", "contacts.sync failed", frame.r);
          },
        );
        return;
      }
      case "account.delete": {
        const deletion = this.deps.deletion;
        if (!deletion) {
          this.reject(connection, "unavailable", "this node cannot delete accounts", frame.r);
          return;
        }
        deletion.removeData(user).then(
          async () => {
            connection.send({ t: "account.deleted", r: frame.r });
            try {
              await deletion.tombstone(user);
            } catch (error) {
              // Rare (retried already): the data is gone, but tokens of the id stay good until they expire.
              this.deps.log.error({ err: error, user }, "account tombstone write failed");
            }
            // Every node closes the user's sockets once it polls the tombstone; this node's at once.
            for (const own of this.deps.registry.ofUser(user)) own.close(CLOSE_CODES.unauthorized, "account deleted");
          },
          (error: unknown) => {
            const unavailable = error instanceof StorageUnavailableError;
            this.deps.log[unavailable ? "warn" : "error"]({ err: error, conn: connection.id }, "account.delete failed");
            // Each step is idempotent: a retry finishes what this one left.
            this.reject(connection, unavailable ? "unavailable" : "internal", "account.delete failed; retry", frame.r);
          },
        );
        return;
      }
      case "chats": {
        // Always the connection's own user: no field names another.
        const chats = this.deps.chats;
        if (!chats) {
          this.reject(connection, "unavailable", "this node has no chat list", frame.r);
          return;
        }
        chats.list(user, frame.r, frame.after, frame.limit).then(
          (answer) => connection.send(answer),
          (error: unknown) => {
            if (error instanceof BadCursorError) {
              this.reject(connection, "invalid_field", error.message, frame.r);
              return;
            }
            const unavailable = error instanceof StorageUnavailableError;
            this.deps.log[unavailable ? "warn" : "error"]({ err: error, conn: connection.id }, "chats failed");
            this.reject(connection, unavailable ? "unavailable" : "internal", "chats failed; retry", frame.r);
          },
        );
        return;
      }
      case "contacts.add":
      case "contacts.remove":
      case "contacts.list":
      case "block":
      case "unblock":
      case "blocks":
        // The user's actor owns both lists: it saves them and tells the chats and presence.
        this.deps.users.tell(user, { type: "contacts", request: frame, replyTo: { conn: connection.ref, r: frame.r } });
        return;
      case "watch":
        this.deps.presence.watch(connection.ref, user, frame.users, frame.r).catch((error: unknown) => {
          this.deps.log.warn({ err: error, conn: connection.id }, "watch failed");
          if (frame.r !== undefined) this.reject(connection, "unavailable", "presence is unavailable; retry", frame.r);
        });
        return;
      case "push.register":
      case "push.unregister":
      case "push.mute":
      case "push.dnd": {
        const push = this.deps.push;
        if (!push) {
          this.reject(connection, "unavailable", "this node has no push service", frame.r);
          return;
        }
        push.handle(user, connection.device, frame).then(
          (answer) => connection.send(answer),
          (error: unknown) => {
            this.deps.log.error({ err: error, conn: connection.id }, `${frame.t} failed`);
            this.reject(connection, "internal", `${frame.t} failed`, frame.r);
          },
        );
        return;
      }
      case "call.offer":
      case "call.answer":
      case "call.ice":
      case "call.ringing":
      case "call.reject":
      case "call.end":
      case "call.join":
      case "call.turn":
        if (!this.deps.calls) {
          this.reject(connection, "unavailable", "this node has no call service", "r" in frame ? frame.r : undefined);
          return;
        }
        this.deps.calls.handle(connection.ref, user, connection.device, frame);
        return;
      case "status.post":
      case "status.list":
      case "status.view":
      case "status.viewers":
      case "status.delete":
        if (!this.deps.status) {
          this.reject(connection, "unavailable", "this node has no status service", frame.r);
          return;
        }
        this.deps.status.handle(user, frame).then(
          (answer) => answer && connection.send(answer),
          (error: unknown) => {
            this.deps.log.error({ err: error, conn: connection.id }, `${frame.t} failed`);
            this.reject(connection, "internal", `${frame.t} failed`, frame.r);
          },
        );
        return;
    }
  }

  /**
   * Direct chats name their members, so a non-member is refused here; a group's members are
   * known to its actor, which checks them.
   */
  private mayBeMember(connection: ClientConnection, chat: string, r?: number): boolean {
    if (isGroupChat(chat) || directChatMembers(chat)?.includes(connection.user)) return true;
    this.reject(connection, "forbidden", `not a member of ${chat}`, r);
    return false;
  }

  /**
   * A deleted account's id takes nothing any more: no message and no group would reach anyone,
   * and storing them would keep state for a user that no longer exists.
   */
  private mayName(connection: ClientConnection, users: readonly string[], r: number): boolean {
    const deleted = users.filter((named) => this.deps.revocations?.isDeleted(named));
    if (deleted.length === 0) return true;
    this.reject(connection, "not_found", `no such user: ${deleted.join(", ")}`, r);
    return false;
  }

  private reject(connection: ClientConnection, code: ErrorCode, msg: string, r?: number): void {
    this.deps.events.rejected(code);
    connection.send({ t: "err", r, code, msg });
  }
}

/** `g:` + 20 random base-32 characters: unguessable, so group ids need no reservation. */
function newGroupId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let id = "g:";
  for (const byte of randomBytes(20)) id += alphabet[byte & 31];
  return id;
}

function requestIdOf(value: unknown): number | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const r = (value as { r?: unknown }).r;
  return typeof r === "number" && Number.isSafeInteger(r) && r >= 0 ? r : undefined;
}
