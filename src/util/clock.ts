/**
 * Time, injected: windows and TTLs (edit and delete windows, typing expiry, push delay,
 * invitation expiry) read a Clock, so a test moves time on instead of sleeping through it.
 * Where a real server's clock decides (Redis TTLs, S3 URL expiry), that server's time rules
 * and tests wait on it.
 */

/** A pending callback; cancelling one that has run (or was cancelled) does nothing. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** ms since the epoch. */
  now(): number;
  /**
   * Calls `callback` once `ms` have passed on this clock. Never keeps the process alive:
   * every timer here is a deadline for work something else keeps going.
   */
  setTimeout(callback: () => void, ms: number): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};

interface ManualTimer {
  at: number;
  /** Order of creation: timers due at the same time fire in the order they were set. */
  order: number;
  callback: () => void;
}

/** A clock that moves only when told to (tests). Timers fire, in order, as `advance` passes them. */
export class ManualClock implements Clock {
  private time: number;
  private created = 0;
  private readonly timers = new Set<ManualTimer>();

  constructor(start = Date.now()) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): Timer {
    const timer: ManualTimer = { at: this.time + Math.max(0, ms), order: this.created++, callback };
    this.timers.add(timer);
    return { cancel: () => void this.timers.delete(timer) };
  }

  /** Timers set and not yet fired or cancelled. */
  get pending(): number {
    return this.timers.size;
  }

  /**
   * Moves time on by `ms`, firing each timer that comes due on the way at its own time
   * (a timer set by a callback fires too, if it is due before the end).
   */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const timer of this.timers) {
        if (timer.at <= end && (!next || timer.at < next.at || (timer.at === next.at && timer.order < next.order))) next = timer;
      }
      if (!next) break;
      this.timers.delete(next);
      this.time = Math.max(this.time, next.at);
      next.callback();
    }
    this.time = end;
  }
}
