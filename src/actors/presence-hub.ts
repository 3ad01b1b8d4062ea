import type { PresenceFrame } from "../protocol/frames.ts";
import type { PresenceStore } from "../storage/types.ts";
import type { Logger } from "../util/logger.ts";
import type { ClientLink, ConnectionRef } from "./messages.ts";

function connectionKey(conn: ConnectionRef): string {
  return `${conn.node}/${conn.id}`;
}

/**
 * Who is online, and which connections watch whom. UserActors report a user's first device
 * coming and last device going; watchers get `presence` frames at once and on every change.
 * Presence is ephemeral (dropped first under backpressure); last seen is kept in the store
 * so it survives restarts.
 */
export class PresenceHub {
  private readonly online = new Set<string>();
  private readonly watchersOf = new Map<string, Map<string, ConnectionRef>>();
  private readonly watchedBy = new Map<string, { conn: ConnectionRef; users: string[] }>();

  /** Called on every change this node's UserActors report, so other nodes can apply it. */
  announce: ((user: string, online: boolean, at?: number) => void) | undefined;

  constructor(
    private readonly link: ClientLink,
    private readonly store: PresenceStore,
    private readonly log: Logger,
  ) {}

  /** A change another node's UserActor reported; that node already stored last seen. */
  applyRemote(user: string, online: boolean, at?: number): void {
    if (online) this.online.add(user);
    else this.online.delete(user);
    this.broadcast(online ? { t: "presence", user, online } : { t: "presence", user, online, last_seen: at });
  }

  isOnline(user: string): boolean {
    return this.online.has(user);
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
    if (r !== undefined) this.link.send(conn, { t: "watching", r, users: users.length });
    const offline = users.filter((user) => !this.online.has(user));
    const lastSeen = offline.length > 0 ? await this.store.lastSeen(offline) : new Map<string, number>();
    // Re-read online state: a change while the store answered already sent its own frame.
    for (const user of users) {
      const frame: PresenceFrame = this.online.has(user)
        ? { t: "presence", user, online: true }
        : { t: "presence", user, online: false, last_seen: lastSeen.get(user) };
      this.link.send(conn, frame, true);
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
    this.online.add(user);
    this.broadcast({ t: "presence", user, online: true });
    this.announce?.(user, true);
  }

  userOffline(user: string, at: number): void {
    this.online.delete(user);
    this.store.setLastSeen(user, at).catch((error: unknown) => {
      this.log.warn({ err: error, user }, "last seen write failed");
    });
    this.broadcast({ t: "presence", user, online: false, last_seen: at });
    this.announce?.(user, false, at);
  }

  private broadcast(frame: PresenceFrame): void {
    for (const conn of this.watchersOf.get(frame.user)?.values() ?? []) this.link.send(conn, frame, true);
  }
}
