/**
 * Presence: when each user was last online (durable, a member of Stores), and who is online
 * right now and on which node (expiring entries shared by a cluster: redis/presence.ts).
 */

/** What outlives a connection: when each user was last online. */
export interface PresenceStore {
  setLastSeen(user: string, ts: number): Promise<void>;
  /** Users never seen are absent from the map. */
  lastSeen(users: readonly string[]): Promise<Map<string, number>>;
}

/**
 * Who is online across the cluster right now, and on which node. Entries expire unless the
 * node refreshes them, so a node that dies takes its users offline within one TTL.
 */
export interface OnlinePresence {
  /** Marks `user` online on `node` and keeps the entry alive (refreshed by a node heartbeat) until markOffline. */
  markOnline(user: string, node: string, ttlMs: number): Promise<void>;
  /** Only clears the entry if `node` still holds it: a user who moved on stays online. */
  markOffline(user: string, node: string): Promise<void>;
  /** The online users among `users`, each with the node that holds them. */
  online(users: readonly string[]): Promise<Map<string, string>>;
}
