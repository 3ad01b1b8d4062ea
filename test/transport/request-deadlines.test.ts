import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FlushQueue } from "../../src/transport/flush-queue.ts";
import { RequestDeadlines, type DeadlineOwner } from "../../src/transport/request-deadlines.ts";
import { ManualClock } from "../../src/util/clock.ts";

const TIMEOUT_MS = 8_000;

/** An owner that, like a connection, ignores a deadline it no longer waits on. */
function owner(deadlines: RequestDeadlines) {
  const waiting = new Map<number, number>();
  const expired: number[] = [];
  const self: DeadlineOwner & { await(r: number): void; answer(r: number): void; expired: number[] } = {
    await: (r) => void waiting.set(r, deadlines.start(self, r)),
    answer: (r) => void waiting.delete(r),
    expire(r, dueAt) {
      if (waiting.get(r) !== dueAt) return;
      waiting.delete(r);
      expired.push(r);
    },
    expired,
  };
  return self;
}

describe("request deadlines by one sweep", () => {
  it("expires each unanswered request at its deadline with a single timer", () => {
    const clock = new ManualClock();
    const deadlines = new RequestDeadlines(TIMEOUT_MS, clock);
    const a = owner(deadlines);
    const b = owner(deadlines);
    a.await(1);
    clock.advance(100);
    b.await(1);
    a.await(2);
    assert.equal(clock.pending, 1, "one timer however many requests wait");
    a.answer(2);

    clock.advance(TIMEOUT_MS - 101);
    assert.deepEqual([a.expired, b.expired], [[], []]);
    clock.advance(1);
    assert.deepEqual([a.expired, b.expired], [[1], []]);
    clock.advance(100);
    assert.deepEqual([a.expired, b.expired], [[1], [1]], "an answered request is not expired");
    assert.equal(deadlines.queued, 0);
    assert.equal(clock.pending, 0, "no timer once nothing waits");
  });

  it("restarting a request's deadline leaves only the newer one", () => {
    const clock = new ManualClock();
    const deadlines = new RequestDeadlines(TIMEOUT_MS, clock);
    const a = owner(deadlines);
    a.await(7);
    clock.advance(1000);
    a.await(7);
    clock.advance(TIMEOUT_MS - 1000);
    assert.deepEqual(a.expired, []);
    clock.advance(1000);
    assert.deepEqual(a.expired, [7]);
  });

  it("keeps its queue bounded by what still waits", () => {
    const clock = new ManualClock();
    const deadlines = new RequestDeadlines(TIMEOUT_MS, clock);
    const a = owner(deadlines);
    for (let r = 1; r <= 5000; r += 1) {
      a.await(r);
      a.answer(r);
      clock.advance(10);
    }
    assert.ok(deadlines.queued < 1000, `queued ${deadlines.queued}`);
    clock.advance(TIMEOUT_MS);
    assert.equal(deadlines.queued, 0);
    assert.deepEqual(a.expired, []);
  });
});

describe("flush queue", () => {
  it("flushes every dirty connection once, in one later turn", async () => {
    const queue = new FlushQueue();
    const flushed: string[] = [];
    const conn = (name: string) => ({ flush: () => void flushed.push(name) });
    const a = conn("a");
    const b = conn("b");
    queue.add(a);
    queue.add(b);
    assert.deepEqual(flushed, [], "not within the turn that produced the frames");
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(flushed, ["a", "b"]);
    queue.add(a);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(flushed, ["a", "b", "a"]);
  });
});
