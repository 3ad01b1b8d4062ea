/**
 * A token bucket: `burst` frames back to back, refilled at `perSecond`. Each connection has
 * two: its own limit, and its share of its user's budget (resized as the user's devices come
 * and go). A client catching up after reconnect (hundreds of acks at once) fits in the burst.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private perSecond: number,
    private burst: number,
    now = performance.now(),
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  take(now = performance.now()): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * New rate and burst from now on. Tokens saved so far are kept up to the new burst, and
   * topped up only when `fill` says so: a resize must not hand out frames the old limit did
   * not allow (when a device leaves, the others' shares grow, but not by its unspent burst).
   */
  resize(perSecond: number, burst: number, fill = false, now = performance.now()): void {
    this.refill(now);
    this.perSecond = perSecond;
    this.burst = burst;
    this.tokens = fill ? burst : Math.min(this.tokens, burst);
  }

  private refill(now: number): void {
    const refill = ((now - this.updatedAt) / 1000) * this.perSecond;
    this.tokens = Math.min(this.burst, this.tokens + refill);
    this.updatedAt = now;
  }
}
