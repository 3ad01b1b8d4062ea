import type { Logger } from "../../util/logger.ts";
import type { PresenceStore } from "../presence.ts";
import { RedisConnection, type RedisHealth } from "./connection.ts";
import { RedisKeys } from "./keys.ts";
import { RedisPresence, type RedisPresenceOptions } from "./presence.ts";
import { RedisRateLimits } from "./rate-limits.ts";
import { RedisRevocationStore } from "./revocations.ts";

export { RedisConfigError, parseRedisUrl, type RedisHealth } from "./connection.ts";
export { RedisPresence } from "./presence.ts";
export { RedisRateLimits } from "./rate-limits.ts";

export interface RedisServicesOptions extends RedisPresenceOptions {
  url: string;
  /** Every key starts with it: one per cluster sharing a Redis. */
  keyPrefix: string;
  /** Where last seen is kept durably; Redis holds a copy. */
  durableLastSeen: PresenceStore;
  logger: Logger;
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  probeIntervalMs?: number;
}

/** What the cluster keeps in Redis, over one connection. */
export interface RedisServices {
  readonly presence: RedisPresence;
  readonly rateLimits: RedisRateLimits;
  /** Token revocations, on the same connection (closed with it). */
  readonly revocations: RedisRevocationStore;
  health(): RedisHealth;
  close(): Promise<void>;
}

/**
 * Connects (an unreachable Redis is logged and retried in the background, never fatal) and
 * builds the Redis-backed services. Rejects only for a URL that can never work.
 */
export async function openRedisServices(options: RedisServicesOptions): Promise<RedisServices> {
  const logger = options.logger.child({ component: "redis" });
  const connection = new RedisConnection({
    url: options.url,
    logger,
    ...(options.commandTimeoutMs !== undefined ? { commandTimeoutMs: options.commandTimeoutMs } : {}),
    ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    ...(options.probeIntervalMs !== undefined ? { probeIntervalMs: options.probeIntervalMs } : {}),
  });
  const keys = new RedisKeys(options.keyPrefix);
  const presence = new RedisPresence(connection, keys, options.durableLastSeen, logger, options);
  await connection.start();
  return {
    presence,
    rateLimits: new RedisRateLimits(connection, keys),
    revocations: new RedisRevocationStore(connection, keys),
    health: () => connection.status(),
    close: async () => {
      presence.close();
      await connection.close();
    },
  };
}
