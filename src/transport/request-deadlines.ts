import type { Clock, Timer } from "../util/clock.ts";

/** Whoever waits on requests: told when one of its deadlines passes. */
export interface DeadlineOwner {
  /** Request `r`, started with deadline `dueAt`, is due now (it may have been answered since). */
  expire(r: number, dueAt: number): void;
}

// Spent slots at the head of the queue are dropped in one splice once there are this many and
// they are at least half the queue: a splice moves what is left, so each moves at most as many
// entries as were spent since the last (a client with thousands of requests open keeps the
// queue long).
const COMPACT_AFTER = 1024;

/**
 * Request deadlines for the whole node, by one sweep instead of a timer per request. Every
 * deadline is `timeoutMs` from its start, so the queue is in due order by construction: one
 * timer, armed for the oldest, expires everything due when it fires. An answered request
 * costs nothing here: its entry stays queued and its owner ignores it when it comes due
 * (`dueAt` tells a stale entry from the request's current one).
 *
 * The queue is three parallel arrays, not an object per request: an entry stays for the whole
 * timeout, so an object per request would be promoted to the old generation (and copied on
 * the way) for every request the node answers within milliseconds.
 */
export class RequestDeadlines {
  private readonly owners: Array<DeadlineOwner | undefined> = [];
  private readonly requests: number[] = [];
  private readonly dueAts: number[] = [];
  private head = 0;
  private timer: Timer | undefined;

  constructor(
    readonly timeoutMs: number,
    private readonly clock: Clock,
  ) {}

  /** Starts the deadline of request `r` of `owner`; returns when it is due. */
  start(owner: DeadlineOwner, r: number): number {
    const dueAt = this.clock.now() + this.timeoutMs;
    this.owners.push(owner);
    this.requests.push(r);
    this.dueAts.push(dueAt);
    if (!this.timer) this.arm();
    return dueAt;
  }

  /** Deadlines queued, answered or not (tests). */
  get queued(): number {
    return this.owners.length - this.head;
  }

  private arm(): void {
    if (this.head === this.owners.length) return;
    this.timer = this.clock.setTimeout(this.sweep, Math.max(0, this.dueAts[this.head]! - this.clock.now()));
  }

  private readonly sweep = (): void => {
    this.timer = undefined;
    const now = this.clock.now();
    const { owners, requests, dueAts } = this;
    while (this.head < owners.length && dueAts[this.head]! <= now) {
      const at = this.head;
      const owner = owners[at]!;
      owners[at] = undefined;
      this.head += 1;
      owner.expire(requests[at]!, dueAts[at]!);
    }
    if (this.head === owners.length) {
      owners.length = 0;
      requests.length = 0;
      dueAts.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= owners.length) {
      owners.splice(0, this.head);
      requests.splice(0, this.head);
      dueAts.splice(0, this.head);
      this.head = 0;
    }
    this.arm();
  };
}
