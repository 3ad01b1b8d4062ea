import type { PresenceFrame } from "../protocol/frames.ts";
import type { OnlinePresence, PresenceStore } from "../storage/types.ts";
import type { Logger } from "../util/logger.ts";
import type { ClientLink, ConnectionRef } from "./messages.ts";

function connectionKey(conn: ConnectionRef): string {
  return `${conn.node}/${conn.id}`;
}

/** A node that dies takes its users offline in the shared online set within this long. */
export const ONLINE_TTL_MS = 30_000;

export interface PresenceHubDeps {
  link: ClientLink;
  /** Last seen, durable. */
  store: PresenceStore;
  /** Who is online cluster-wide (Redis on a cluster), for watchers of users this node has not heard of. */
  onlineSet: OnlinePresence;
  nodeId: string;
  log: Logger;
}

/**
 * Who is online, and which connections watch whom. UserActors report a user's first device
 * coming and last device going; watchers get `presence` frames at once and on every change.
 * Presence is ephemeral (dropped first under backpressure); last seen is kept in the store
 * so it survives restarts.
 *
 * Changes reach the other nodes as broadcasts, which a node that joined later never heard:
 * so the owner also records who is online in the shared online set (with a TTL its node
 * keeps refreshing), and a watch asks it about users this node does not know to be online.
 */
export class PresenceHub {
  /**
   * The users online, each with the node whose UserActor reported it: if that node goes, so
   * does the news.
   */
  private readonly onlineBy = new Map<string, string>();
  private readonly watchersOf = new Map<string, Map<string, ConnectionRef>>();
  private readonly watchedBy = new Map<string, { conn: ConnectionRef; users: string[] }>();

  /** Called on every change this node's UserActors report, so other nodes can apply it. */
  announce: ((user: string, online: boolean, at?: number) => void) | undefined;

  constructor(private readonly deps: PresenceHubDeps) {}

  /** A change another node's UserActor reported; that node already stored last seen. */
  applyRemote(user: string, online: boolean, at: number | undefined, from: string): void {
    if (online) this.onlineBy.set(user, from);
    else this.onlineBy.delete(user);
    this.broadcast(online ? { t: "presence", user, online } : { t: "presence", user, online, last_seen: at });
  }

  /**
   * A node left the ring (it died, or drained): the users it reported online have no owner
   * to say when they go. Offline now; those still connected somewhere reconnect to their new
   * owner (the ring change moved them), which reports them online again.
   */
  ownerGone(node: string, at: number): void {
    for (const [user, reporter] of [...this.onlineBy]) {
      if (reporter !== node) continue;
      this.onlineBy.delete(user);
      this.broadcast({ t: "presence", user, online: false, last_seen: at });
    }
  }

  isOnline(user: string): boolean {
    return this.onlineBy.has(user);
  }

  /** Replaces what `conn` watches with `users`, and tells it their presence now. */
  async watch(conn: ConnectionRef, users: string[], r?: number): Promise<void> {
    this.unwatch(conn);
    const key = connectionKey(conn);
    this.watchedBy.set(key, { conn, users });
    for (const user of users) {
      let watchers = this.watchersOf.get(user);
      if (!watchers) this.watchersOf.set(user, (watchers = new Map()));
      watchers.set(key, conn);
    }
    if (r !== undefined) this.deps.link.send(conn, { t: "watching", r, users: users.length });
    const unknown = users.filter((user) => !this.onlineBy.has(user));
    const [elsewhere, lastSeen] = await Promise.all([this.onlineElsewhere(unknown), this.deps.store.lastSeen(unknown)]);
    // Remembered like a broadcast: the owner's next change (offline) arrives as one.
    for (const [user, node] of elsewhere) this.onlineBy.set(user, node);
    // Re-read online state: a change while the store answered already sent its own frame.
    for (const user of users) {
      const frame: PresenceFrame = this.onlineBy.has(user)
        ? { t: "presence", user, online: true }
        : { t: "presence", user, online: false, last_seen: lastSeen.get(user) };
      this.deps.link.send(conn, frame, true);
    }
  }

  /** Those of `users` online on some node, with the node. */
  private async onlineElsewhere(users: string[]): Promise<Map<string, string>> {
    if (users.length === 0) return new Map();
    try {
      return await this.deps.onlineSet.online(users);
    } catch (error) {
      this.deps.log.warn({ err: error }, "online set unavailable: watchers see what this node knows");
      return new Map();
    }
  }

  unwatch(conn: ConnectionRef): void {
    const key = connectionKey(conn);
    const previous = this.watchedBy.get(key);
    if (!previous) return;
    this.watchedBy.delete(key);
    for (const user of previous.users) {
      const watchers = this.watchersOf.get(user);
      if (watchers?.delete(key) && watchers.size === 0) this.watchersOf.delete(user);
    }
  }

  userOnline(user: string): void {
    this.onlineBy.set(user, this.deps.nodeId);
    this.deps.onlineSet.markOnline(user, this.deps.nodeId, ONLINE_TTL_MS).catch((error: unknown) => {
      this.deps.log.warn({ err: error, user }, "online set write failed");
    });
    this.broadcast({ t: "presence", user, online: true });
    this.announce?.(user, true);
  }

  userOffline(user: string, at: number): void {
    this.onlineBy.delete(user);
    this.deps.onlineSet.markOffline(user, this.deps.nodeId).catch((error: unknown) => {
      this.deps.log.warn({ err: error, user }, "online set write failed");
    });
    this.deps.store.setLastSeen(user, at).catch((error: unknown) => {
      this.deps.log.warn({ err: error, user }, "last seen write failed");
    });
    this.broadcast({ t: "presence", user, online: false, last_seen: at });
    this.announce?.(user, false, at);
  }

  private broadcast(frame: PresenceFrame): void {
    for (const conn of this.watchersOf.get(frame.user)?.values() ?? []) this.deps.link.send(conn, frame, true);
  }
}
