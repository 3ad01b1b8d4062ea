import type { ConversationMessage, UserMessage } from "../actors/messages.ts";
import type { ClientLink, CloseCode, ConnectionRef, FrameShare, Tell, TellIfActive } from "../seams.ts";
import type { PresenceShown } from "../actors/presence-hub.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { callOwner } from "../calls/call-id.ts";
import type { CallMessage } from "../calls/messages.ts";
import type { Logger } from "../util/logger.ts";
import { MAX_HOPS, type Envelope, type RemoteDispatch } from "./remote-dispatch.ts";
import type { NodeId } from "./ring.ts";

export interface LocalTargets {
  users: Tell<UserMessage> & TellIfActive<UserMessage>;
  conversations: Tell<ConversationMessage> & TellIfActive<ConversationMessage>;
  connections: ClientLink;
  presence: { applyRemote(user: string, online: boolean, at: number | undefined, from: NodeId, shown?: PresenceShown): void };
  calls?: Tell<CallMessage>;
}

export const userKey = (user: string) => `user:${user}`;
export const chatKey = (chat: string) => `chat:${chat}`;

/**
 * Where each actor message and client frame goes: to this node's directories and sockets
 * when the ring names this node, over NATS otherwise. Actors only ever see these facades,
 * so they do not know whether they run alone or in a cluster.
 */
export class ClusterRouting {
  readonly users: LocalTargets["users"];
  readonly conversations: LocalTargets["conversations"];
  readonly link: ClientLink;
  /** A call lives on the node its id names, not wherever the ring now puts its key. */
  readonly calls: Tell<CallMessage>;

  constructor(
    private readonly dispatch: RemoteDispatch,
    private readonly local: LocalTargets,
    private readonly log: Logger,
  ) {
    const self = dispatch.nodeId;
    this.users = {
      tell: (user, message) => this.toUser(user, message, false, 0),
      tellIfActive: (user, message) => this.toUser(user, message, true, 0),
    };
    this.conversations = {
      tell: (chat, message) => this.toConversation(chat, message, false, 0),
      // Ephemeral messages (typing) must not wake a chat: the owner delivers only to a live actor.
      tellIfActive: (chat, message) => this.toConversation(chat, message, true, 0),
    };
    this.calls = {
      tell: (call, message) => {
        const owner = callOwner(call);
        if (owner === self) local.calls?.tell(call, message);
        else dispatch.send(owner, { to: "call", key: call, message });
      },
    };
    this.link = {
      send: (conn: ConnectionRef, frame: ServerFrame, ephemeral?: boolean) => {
        if (conn.node === self) local.connections.send(conn, frame, ephemeral);
        else dispatch.send(conn.node, { to: "client", conn, frame, ephemeral });
      },
      close: (conn: ConnectionRef, code: CloseCode, reason: string) => {
        if (conn.node === self) local.connections.close(conn, code, reason);
        else dispatch.send(conn.node, { to: "close", conn, code, reason });
      },
      limit: (conn: ConnectionRef, share: FrameShare) => {
        if (conn.node === self) local.connections.limit(conn, share);
        else dispatch.send(conn.node, { to: "limit", conn, share });
      },
      closeUser: (user: string, code: CloseCode, reason: string) => {
        local.connections.closeUser(user, code, reason);
        dispatch.broadcast({ to: "close-user", user, code, reason });
      },
    };
  }

  private toUser(user: string, message: UserMessage, ifActive: boolean, hops: number): boolean {
    const owner = this.dispatch.ownerOf(userKey(user));
    if (owner === this.dispatch.nodeId) {
      return ifActive ? this.local.users.tellIfActive(user, message) : (this.local.users.tell(user, message), true);
    }
    this.dispatch.send(owner, { to: "user", key: user, message, ifActive, hops });
    return true;
  }

  private toConversation(chat: string, message: ConversationMessage, ifActive: boolean, hops: number): boolean {
    const owner = this.dispatch.ownerOf(chatKey(chat));
    if (owner === this.dispatch.nodeId) {
      return ifActive ? this.local.conversations.tellIfActive(chat, message) : (this.local.conversations.tell(chat, message), true);
    }
    this.dispatch.send(owner, { to: "conversation", key: chat, message, ifActive: ifActive || undefined, hops });
    return true;
  }

  /** An envelope from a peer. A message for a key this node no longer owns moves on. */
  receive(envelope: Envelope, from: string): void {
    switch (envelope.to) {
      case "user":
        if (envelope.hops > MAX_HOPS) return this.dropped(envelope, from);
        this.toUser(envelope.key, envelope.message, envelope.ifActive ?? false, envelope.hops + 1);
        return;
      case "conversation":
        if (envelope.hops > MAX_HOPS) return this.dropped(envelope, from);
        this.toConversation(envelope.key, envelope.message, envelope.ifActive ?? false, envelope.hops + 1);
        return;
      case "client":
        this.local.connections.send(envelope.conn, envelope.frame, envelope.ephemeral);
        return;
      case "close":
        this.local.connections.close(envelope.conn, envelope.code, envelope.reason);
        return;
      case "limit":
        this.local.connections.limit(envelope.conn, envelope.share);
        return;
      case "close-user":
        if (from !== this.dispatch.nodeId) this.local.connections.closeUser(envelope.user, envelope.code, envelope.reason);
        return;
      case "presence":
        if (from !== this.dispatch.nodeId) this.local.presence.applyRemote(envelope.user, envelope.online, envelope.at, from, envelope.shown);
        return;
      case "call":
        // Only this node holds the calls its name is in; one for another is stale, and dropped.
        if (callOwner(envelope.key) === this.dispatch.nodeId) this.local.calls?.tell(envelope.key, envelope.message);
        return;
    }
  }

  private dropped(envelope: Envelope, from: string): void {
    this.log.warn({ to: envelope.to, from }, "message bounced between nodes too often; the rings disagree, dropped");
  }
}
