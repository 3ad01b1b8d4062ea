import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { start, stop } from "nact";
import pino from "pino";
import { ActorDirectory } from "../../src/actors/directory.ts";

const system = start();
const NO_EVENTS = { restart: () => {}, escalate: () => {}, deadLetter: () => {} };

/** Work the test settles by hand. */
function deferred() {
  let resolve: () => void = () => {};
  let reject: (error: Error) => void = () => {};
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

function directory() {
  return new ActorDirectory<string, number>(
    system,
    `test-${Math.random().toString(36).slice(2, 8)}`,
    { initialState: () => 0, handle: (state) => state + 1, answerCrash: () => {} },
    // Never passivated by the sweeper during a test: only eviction stops an actor here.
    { idleMs: 3_600_000, maxRestarts: 3, withinMs: 1000 },
    pino({ level: "silent" }),
    NO_EVENTS,
  );
}

describe("work an actor tracks", () => {
  after(() => stop(system));

  it("holds the actor until the work settles, then lets an eviction stop it", async () => {
    const users = directory();
    users.tell("ann", "hello");
    await users.whenIdle();
    const work = deferred();
    users.track("ann", work.promise);
    users.evict("ann");
    assert.equal(users.has("ann"), true, "evicted while its work was in flight");
    assert.equal(users.busy(), true);
    const idle = users.whenIdle();
    work.resolve();
    await idle;
    assert.equal(users.has("ann"), false, "still live once its work had settled");
    users.stopAll();
  });

  it("releases work that fails, once, and whenIdle waits for every actor", async () => {
    const users = directory();
    users.tell("ann", "hello");
    users.tell("ben", "hello");
    await users.whenIdle();
    const failing = deferred();
    const slow = deferred();
    users.track("ann", failing.promise);
    users.track("ben", slow.promise);
    let idle = false;
    const whenIdle = users.whenIdle().then(() => (idle = true));
    failing.reject(new Error("store down"));
    await failing.promise.catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(idle, false, "idle while ben's work was still in flight");
    users.evict("ann");
    assert.equal(users.has("ann"), false, "a failed work kept its hold");
    slow.resolve();
    await whenIdle;
    assert.equal(users.busy(), false);
    users.stopAll();
  });

  it("whenIdle settles when the directory stops, even with work in flight", async () => {
    const users = directory();
    users.tell("ann", "hello");
    await users.whenIdle();
    users.track("ann", new Promise(() => {}));
    const idle = users.whenIdle();
    users.stopAll();
    await idle;
  });
});
