import type { Clock, Timer } from "../util/clock.ts";

/** Whoever waits on requests: told when one of its deadlines passes. */
export interface DeadlineOwner {
  /** Request `r`, started with deadline `dueAt`, is due now (it may have been answered since). */
  expire(r: number, dueAt: number): void;
}

interface Awaiting {
  owner: DeadlineOwner;
  r: number;
  dueAt: number;
}

// Spent slots at the head of the queue are dropped in one splice once there are this many.
const COMPACT_AFTER = 1024;

/**
 * Request deadlines for the whole node, by one sweep instead of a timer per request. Every
 * deadline is `timeoutMs` from its start, so the queue is in due order by construction: one
 * timer, armed for the oldest, expires everything due when it fires. An answered request
 * costs nothing here: its entry stays queued and its owner ignores it when it comes due
 * (`dueAt` tells a stale entry from the request's current one).
 */
export class RequestDeadlines {
  private readonly queue: Array<Awaiting | undefined> = [];
  private head = 0;
  private timer: Timer | undefined;

  constructor(
    readonly timeoutMs: number,
    private readonly clock: Clock,
  ) {}

  /** Starts the deadline of request `r` of `owner`; returns when it is due. */
  start(owner: DeadlineOwner, r: number): number {
    const dueAt = this.clock.now() + this.timeoutMs;
    this.queue.push({ owner, r, dueAt });
    if (!this.timer) this.arm();
    return dueAt;
  }

  /** Deadlines queued, answered or not (tests). */
  get queued(): number {
    return this.queue.length - this.head;
  }

  private arm(): void {
    const first = this.queue[this.head];
    if (!first) return;
    this.timer = this.clock.setTimeout(this.sweep, Math.max(0, first.dueAt - this.clock.now()));
  }

  private readonly sweep = (): void => {
    this.timer = undefined;
    const now = this.clock.now();
    for (let entry = this.queue[this.head]; entry && entry.dueAt <= now; entry = this.queue[this.head]) {
      this.queue[this.head] = undefined;
      this.head += 1;
      entry.owner.expire(entry.r, entry.dueAt);
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.arm();
  };
}
