import type { RateLimitDecision, RateLimits } from "../rate-limits.ts";
import type { RedisConnection } from "./connection.ts";
import type { RedisKeys } from "./keys.ts";

/**
 * Fixed-window counters: one key per (key, window), counted with INCR and expiring with its
 * window, both in one MULTI round trip. Windows are cut on this node's clock; nodes a few ms
 * apart count a few events into a neighbouring window, which a rate limit can live with.
 * Unreachable Redis rejects with StorageUnavailableError, so the caller chooses to fail open
 * (keep serving) or closed.
 */
export class RedisRateLimits implements RateLimits {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
  ) {}

  async hit(key: string, limit: number, windowMs: number, amount = 1): Promise<RateLimitDecision> {
    const now = Date.now();
    const window = Math.floor(now / windowMs);
    const windowEnd = (window + 1) * windowMs;
    const redisKey = this.keys.rate(key, window);
    const results = await this.redis.run("rateLimit", (client) =>
      // A second past the window's end, so a clock slightly behind ours still finds the count.
      client.multi().incrby(redisKey, amount).pexpireat(redisKey, windowEnd + 1_000).exec(),
    );
    const [incr] = results ?? [];
    if (!incr || incr[0]) throw incr?.[0] ?? new Error("redis rate limit transaction discarded");
    const count = Number(incr[1]);
    return { allowed: count <= limit, count, resetInMs: windowEnd - now };
  }
}
