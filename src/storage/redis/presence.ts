import type { Logger } from "../../util/logger.ts";
import type { OnlinePresence, PresenceStore } from "../presence.ts";
import type { RedisConnection } from "./connection.ts";
import type { RedisKeys } from "./keys.ts";

export interface RedisPresenceOptions {
  /** How long Redis keeps a last-seen copy without a write or read; default 7 days. */
  lastSeenTtlMs?: number;
  /** Most last-seen writes kept for replay while Redis is unreachable; default 100,000. */
  maxPendingLastSeen?: number;
}

/** Commands per pipeline: one round trip each, without building one huge reply. */
const PIPELINE_CHUNK = 1_000;
const DEFAULT_LAST_SEEN_TTL_MS = 7 * 24 * 3600_000;
const DEFAULT_MAX_PENDING = 100_000;
/** Floor for the heartbeat, whatever TTL a caller passes. */
const MIN_HEARTBEAT_MS = 50;

interface LocalEntry {
  node: string;
  ttlMs: number;
}

/**
 * Presence on Redis, for the cluster backend.
 *
 * Last seen: the durable store (CQL) is the source of truth; Redis is a write-through,
 * read-through copy so that presence lookups for many users are one MGET instead of one
 * partition read each. Writes go to both; only the durable write is awaited, so a caller waits
 * on Redis for nothing. A write Redis missed is kept (bounded) and replayed when Redis is back,
 * so a short outage leaves no stale copy behind; keys Redis lost (a restart) are read from the
 * durable store and copied back. Both sides keep the larger value, so order does not matter.
 *
 * Online: Redis alone (it is ephemeral by nature). Each entry expires after its TTL; this node
 * re-writes all of its own entries from a heartbeat at a third of the TTL, which also restores
 * them within one beat after Redis restarted empty. While Redis is unreachable, online() knows
 * only this node's users: presence degrades, nothing fails.
 */
export class RedisPresence implements PresenceStore, OnlinePresence {
  private readonly local = new Map<string, LocalEntry>();
  private readonly pendingLastSeen = new Map<string, number>();
  private pendingOverflowed = false;
  private heartbeatMs = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private beating = false;
  private readonly lastSeenTtlMs: number;
  private readonly maxPending: number;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly durable: PresenceStore,
    private readonly log: Logger,
    options: RedisPresenceOptions = {},
  ) {
    this.lastSeenTtlMs = options.lastSeenTtlMs ?? DEFAULT_LAST_SEEN_TTL_MS;
    this.maxPending = options.maxPendingLastSeen ?? DEFAULT_MAX_PENDING;
    redis.onReachable(() => {
      void this.replayLastSeen();
      void this.beat();
    });
  }

  async setLastSeen(user: string, ts: number): Promise<void> {
    void this.copyLastSeen([[user, ts]]);
    await this.durable.setLastSeen(user, ts);
  }

  async lastSeen(users: readonly string[]): Promise<Map<string, number>> {
    const unique = [...new Set(users)];
    const found = new Map<string, number>();
    if (unique.length === 0) return found;
    let cached: Array<string | null> = [];
    if (this.redis.up) {
      try {
        cached = await this.redis.run("lastSeen", (client) => client.mget(unique.map((user) => this.keys.lastSeen(user))));
      } catch {
        // Unreachable: everything comes from the durable store below.
      }
    }
    const misses: string[] = [];
    unique.forEach((user, i) => {
      const value = cached[i];
      const ts = value === null || value === undefined ? undefined : Number(value);
      if (ts === undefined || !Number.isFinite(ts)) misses.push(user);
      else found.set(user, ts);
    });
    if (misses.length > 0) {
      const durable = await this.durable.lastSeen(misses);
      for (const [user, ts] of durable) found.set(user, ts);
      if (durable.size > 0 && this.redis.up) void this.copyLastSeen([...durable]);
    }
    // A write Redis missed may be newer than the copy Redis still has.
    for (const user of unique) {
      const pending = this.pendingLastSeen.get(user);
      if (pending !== undefined && pending > (found.get(user) ?? -Infinity)) found.set(user, pending);
    }
    return found;
  }

  async markOnline(user: string, node: string, ttlMs: number): Promise<void> {
    this.local.set(user, { node, ttlMs });
    this.scheduleHeartbeat(ttlMs);
    if (!this.redis.up) return;
    try {
      await this.redis.run("markOnline", (client) => client.set(this.keys.online(user), node, "PX", ttlMs));
    } catch {
      // The heartbeat writes it once Redis is back.
    }
  }

  async markOffline(user: string, node: string): Promise<void> {
    if (this.local.get(user)?.node === node) this.local.delete(user);
    if (this.local.size === 0) this.stopHeartbeat();
    if (!this.redis.up) return;
    try {
      await this.redis.run("markOffline", (client) => client.routerDeleteIf(this.keys.online(user), node));
    } catch {
      // The entry expires on its own within its TTL.
    }
  }

  async online(users: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(users)];
    const out = new Map<string, string>();
    if (unique.length === 0) return out;
    if (this.redis.up) {
      try {
        const nodes = await this.redis.run("online", (client) => client.mget(unique.map((user) => this.keys.online(user))));
        unique.forEach((user, i) => {
          const node = nodes[i];
          if (typeof node === "string") out.set(user, node);
        });
        return out;
      } catch {
        // Fall through to what this node knows.
      }
    }
    for (const user of unique) {
      const entry = this.local.get(user);
      if (entry) out.set(user, entry.node);
    }
    return out;
  }

  close(): void {
    this.stopHeartbeat();
  }

  /** Best effort: what Redis does not take now is kept for replay. */
  private async copyLastSeen(entries: ReadonlyArray<readonly [string, number]>): Promise<void> {
    if (this.redis.up) {
      try {
        await this.pipelineMaxSet("setLastSeen", entries);
        return;
      } catch {
        // Kept below.
      }
    }
    for (const [user, ts] of entries) this.keepForReplay(user, ts);
  }

  private keepForReplay(user: string, ts: number): void {
    const previous = this.pendingLastSeen.get(user);
    if (previous !== undefined && previous >= ts) return;
    this.pendingLastSeen.delete(user);
    this.pendingLastSeen.set(user, ts);
    if (this.pendingLastSeen.size <= this.maxPending) return;
    // The oldest write goes: its user may read an older Redis copy until their next write, or
    // until the copy expires (lastSeenTtlMs). The durable store has the right value throughout.
    const oldest = this.pendingLastSeen.keys().next().value;
    if (oldest !== undefined) this.pendingLastSeen.delete(oldest);
    if (!this.pendingOverflowed) {
      this.pendingOverflowed = true;
      this.log.warn({ max: this.maxPending }, "redis last-seen replay buffer full; dropping the oldest");
    }
  }

  private async replayLastSeen(): Promise<void> {
    if (this.pendingLastSeen.size === 0) return;
    const entries = [...this.pendingLastSeen];
    try {
      await this.pipelineMaxSet("replayLastSeen", entries);
    } catch {
      return; // Still pending; the next return of Redis tries again.
    }
    for (const [user, ts] of entries) {
      if (this.pendingLastSeen.get(user) === ts) this.pendingLastSeen.delete(user);
    }
    this.pendingOverflowed = false;
    this.log.info({ users: entries.length }, "last seen replayed to redis");
  }

  private async pipelineMaxSet(operation: string, entries: ReadonlyArray<readonly [string, number]>): Promise<void> {
    for (let start = 0; start < entries.length; start += PIPELINE_CHUNK) {
      const chunk = entries.slice(start, start + PIPELINE_CHUNK);
      await this.redis.run(operation, async (client) => {
        const pipeline = client.pipeline();
        for (const [user, ts] of chunk) pipeline.routerMaxSet(this.keys.lastSeen(user), ts, this.lastSeenTtlMs);
        throwFirstError(await pipeline.exec());
      });
    }
  }

  private scheduleHeartbeat(ttlMs: number): void {
    const every = Math.max(MIN_HEARTBEAT_MS, Math.floor(ttlMs / 3));
    if (this.heartbeat && every >= this.heartbeatMs) return;
    this.stopHeartbeat();
    this.heartbeatMs = every;
    this.heartbeat = setInterval(() => void this.beat(), every);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.heartbeatMs = 0;
  }

  /** Re-writes every entry this node holds, TTL and all, in pipelined chunks. */
  private async beat(): Promise<void> {
    if (this.beating || this.local.size === 0 || !this.redis.up) return;
    this.beating = true;
    try {
      const entries = [...this.local];
      for (let start = 0; start < entries.length; start += PIPELINE_CHUNK) {
        const chunk = entries.slice(start, start + PIPELINE_CHUNK);
        await this.redis.run("heartbeat", async (client) => {
          const pipeline = client.pipeline();
          for (const [user, entry] of chunk) pipeline.set(this.keys.online(user), entry.node, "PX", entry.ttlMs);
          throwFirstError(await pipeline.exec());
        });
      }
    } catch {
      // Unreachable; the connection logged it, and the next beat (or its return) writes again.
    } finally {
      this.beating = false;
    }
  }
}

/** A pipeline reports each command's error in its results instead of rejecting. */
export function throwFirstError(results: Array<[Error | null, unknown]> | null): void {
  if (results === null) throw new Error("redis pipeline discarded");
  for (const [error] of results) if (error) throw error;
}
