/**
 * Fixed-window rate limits. Implementations: local-rate-limits.ts (a node alone) and
 * redis/rate-limits.ts (shared by a cluster).
 */

export interface RateLimitDecision {
  allowed: boolean;
  /** Events counted in the current window, this one included. */
  count: number;
  /** Until the window ends and the count starts over. */
  resetInMs: number;
}

/** Fixed-window counters shared by every node, e.g. sends per user per minute. */
export interface RateLimits {
  /** Counts `amount` events (default 1) against `key` in the current window of `windowMs`. */
  hit(key: string, limit: number, windowMs: number, amount?: number): Promise<RateLimitDecision>;
}
