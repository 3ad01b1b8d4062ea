import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenExpiries, type Expiring } from "../../src/transport/token-expiries.ts";
import { ManualClock } from "../../src/util/clock.ts";

function connection(name: string, closed: string[]): Expiring {
  return { expiryBucket: undefined, tokenExpired: () => void closed.push(name) };
}

describe("token expiries by one sweep a second", () => {
  it("closes each connection within a second after its token expires, with one timer for all", () => {
    // Mid-second, so an expiry's bucket is not the current second's.
    const clock = new ManualClock(1_700_000_000_500);
    const expiries = new TokenExpiries(clock);
    const closed: string[] = [];
    const start = clock.now();
    expiries.add(connection("soon", closed), start + 2_000);
    expiries.add(connection("later", closed), start + 10_000);
    expiries.add(connection("same-second", closed), start + 2_300);
    assert.equal(clock.pending, 1, "one timer");
    clock.advance(2_000);
    assert.deepEqual(closed, [], "not before the second after the expiry has begun");
    clock.advance(1_000);
    assert.deepEqual(closed, ["soon", "same-second"]);
    clock.advance(6_000);
    assert.deepEqual(closed, ["soon", "same-second"]);
    clock.advance(2_000);
    assert.deepEqual(closed, ["soon", "same-second", "later"]);
    assert.equal(expiries.size, 0);
    assert.equal(clock.pending, 0, "no timer once nothing waits");
  });

  it("forgets a closed connection at once and a refreshed one's first expiry", () => {
    const clock = new ManualClock(1_700_000_000_000);
    const expiries = new TokenExpiries(clock);
    const closed: string[] = [];
    const gone = connection("gone", closed);
    const refreshed = connection("refreshed", closed);
    expiries.add(gone, clock.now() + 3_000);
    expiries.add(refreshed, clock.now() + 3_000);
    expiries.remove(gone);
    assert.equal(gone.expiryBucket, undefined);
    expiries.add(refreshed, clock.now() + 60_000);
    assert.equal(expiries.size, 1, "the refreshed connection is held once");
    clock.advance(10_000);
    assert.deepEqual(closed, []);
    clock.advance(51_000);
    assert.deepEqual(closed, ["refreshed"]);
  });

  it("takes an expiry already due at the next sweep, and starts over after an idle spell", () => {
    const clock = new ManualClock(1_700_000_000_000);
    const expiries = new TokenExpiries(clock);
    const closed: string[] = [];
    expiries.add(connection("past", closed), clock.now() - 5_000);
    clock.advance(1_000);
    assert.deepEqual(closed, ["past"]);
    // A day with nothing waiting: the next expiry is still swept in its own second, not late or early.
    clock.advance(86_400_000);
    expiries.add(connection("tomorrow", closed), clock.now() + 1_500);
    clock.advance(1_000);
    assert.deepEqual(closed, ["past"]);
    clock.advance(1_000);
    assert.deepEqual(closed, ["past", "tomorrow"]);
  });
});
