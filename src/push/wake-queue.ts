import type { Clock, Timer } from "../util/clock.ts";

interface Wake<T> {
  at: number;
  /** Order of scheduling: wakes due at the same time run in the order they were asked for. */
  order: number;
  item: T;
}

/**
 * Wakes many items at their own times with one timer: a binary heap by due time, and a timer
 * armed for the earliest. When it fires, every item due by then is handed to `due` in one
 * sweep. Rescheduling an item does not remove its older wake; `due` decides whether a wake is
 * still wanted (the scheduler keeps each item's current wake time for that).
 */
export class WakeQueue<T> {
  private readonly heap: Array<Wake<T>> = [];
  private scheduled = 0;
  private timer: Timer | undefined;
  private timerAt = Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly due: (item: T, at: number) => void,
  ) {}

  /** Wakes up `item` at `at` (ms on the clock). */
  wake(item: T, at: number): void {
    this.push({ at, order: this.scheduled++, item });
    if (at < this.timerAt) this.arm();
  }

  /** Wakes not yet run, wanted or not (tests). */
  get size(): number {
    return this.heap.length;
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = Infinity;
    this.heap.length = 0;
  }

  private arm(): void {
    this.timer?.cancel();
    const first = this.heap[0];
    this.timer = undefined;
    this.timerAt = first?.at ?? Infinity;
    if (first) this.timer = this.clock.setTimeout(this.sweep, Math.max(0, first.at - this.clock.now()));
  }

  private readonly sweep = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const wake = this.pop();
      this.due(wake.item, wake.at);
    }
    this.arm();
  };

  private before(a: Wake<T>, b: Wake<T>): boolean {
    return a.at < b.at || (a.at === b.at && a.order < b.order);
  }

  private push(wake: Wake<T>): void {
    const heap = this.heap;
    let index = heap.push(wake) - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.before(wake, heap[parent]!)) break;
      heap[index] = heap[parent]!;
      index = parent;
    }
    heap[index] = wake;
  }

  private pop(): Wake<T> {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length === 0) return top;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && this.before(heap[right]!, heap[left]!) ? right : left;
      if (!this.before(heap[child]!, last)) break;
      heap[index] = heap[child]!;
      index = child;
    }
    heap[index] = last;
    return top;
  }
}
