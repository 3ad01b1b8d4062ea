import type { RateLimitDecision, RateLimits } from "./rate-limits.ts";

/**
 * Fixed-window counters in this process, for a node alone (the cluster counts in Redis, so a
 * client cannot multiply its allowance by reconnecting to another node). Windows that ended
 * are dropped on the next hit, so idle keys cost nothing for long.
 */
export class LocalRateLimits implements RateLimits {
  private readonly windows = new Map<string, { window: number; count: number; windowMs: number }>();
  private nextSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async hit(key: string, limit: number, windowMs: number, amount = 1): Promise<RateLimitDecision> {
    const now = this.now();
    this.sweep(now);
    const window = Math.floor(now / windowMs);
    const current = this.windows.get(key);
    const count = current && current.window === window ? current.count + amount : amount;
    this.windows.set(key, { window, count, windowMs });
    return { allowed: count <= limit, count, resetInMs: (window + 1) * windowMs - now };
  }

  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + 60_000;
    for (const [key, entry] of this.windows) {
      if ((entry.window + 1) * entry.windowMs <= now) this.windows.delete(key);
    }
  }
}
