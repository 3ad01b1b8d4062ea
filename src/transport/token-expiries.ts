import type { Clock, Timer } from "../util/clock.ts";

/** A connection whose token runs out. */
export interface Expiring {
  /** The bucket holding it, or undefined: written by TokenExpiries only. */
  expiryBucket: number | undefined;
  /** Its token's time is up (the sweep has taken it out of its bucket). */
  tokenExpired(): void;
}

const SWEEP_MS = 1000;

/**
 * Token expiries for every connection of the node, by one sweep a second instead of a timer
 * per connection: an idle connection costs a place in a Set here, not a Timeout, its closure
 * and its context (about 230 bytes each). Connections are bucketed by the second after their
 * expiry, so a sweep touches only what is due, and a connection is closed within about a
 * second after its token expires. A closed or refreshed connection leaves its bucket at once:
 * nothing here holds a connection past its close.
 */
export class TokenExpiries {
  /** Buckets by second, counted from `epoch` so keys stay small integers. */
  private readonly buckets = new Map<number, Set<Expiring>>();
  private readonly epoch: number;
  /** Every bucket up to this one has been swept. */
  private swept: number;
  private timer: Timer | undefined;

  constructor(private readonly clock: Clock) {
    this.epoch = Math.floor(clock.now() / SWEEP_MS);
    this.swept = 0;
  }

  /** `item` expires at `expiresAt` (ms), replacing any earlier expiry of it. */
  add(item: Expiring, expiresAt: number): void {
    this.remove(item);
    if (this.buckets.size === 0) this.swept = this.currentBucket();
    const bucket = Math.max(Math.ceil(expiresAt / SWEEP_MS) - this.epoch, this.swept + 1);
    let members = this.buckets.get(bucket);
    if (!members) this.buckets.set(bucket, (members = new Set()));
    members.add(item);
    item.expiryBucket = bucket;
    this.timer ??= this.clock.setTimeout(this.sweep, SWEEP_MS);
  }

  remove(item: Expiring): void {
    const bucket = item.expiryBucket;
    if (bucket === undefined) return;
    item.expiryBucket = undefined;
    const members = this.buckets.get(bucket);
    if (members?.delete(item) && members.size === 0) this.buckets.delete(bucket);
  }

  /** Connections waiting for their expiry (tests, metrics). */
  get size(): number {
    let count = 0;
    for (const members of this.buckets.values()) count += members.size;
    return count;
  }

  private currentBucket(): number {
    return Math.floor(this.clock.now() / SWEEP_MS) - this.epoch;
  }

  private readonly sweep = (): void => {
    this.timer = undefined;
    const now = this.currentBucket();
    for (let bucket = this.swept + 1; bucket <= now; bucket += 1) {
      const members = this.buckets.get(bucket);
      if (!members) continue;
      this.buckets.delete(bucket);
      for (const item of members) {
        item.expiryBucket = undefined;
        item.tokenExpired();
      }
    }
    this.swept = Math.max(this.swept, now);
    if (this.buckets.size > 0) this.timer = this.clock.setTimeout(this.sweep, SWEEP_MS);
  };
}
