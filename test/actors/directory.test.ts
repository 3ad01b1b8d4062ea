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

describe("an outcome run on an idle actor (runIfIdle)", () => {
  const kinds = start();
  after(() => stop(kinds));

  /**
   * Each message appends itself to the state; a message "boom" throws. `duringCrash` records
   * what runIfIdle answers while the supervisor handles a crash.
   */
  function journals(restarts: string[] = [], duringCrash: boolean[] = []) {
    return new ActorDirectory<string, string[]>(
      kinds,
      `journal-${Math.random().toString(36).slice(2, 8)}`,
      (self) => ({
        initialState: () => [],
        handle: async (state, message) => {
          if (message === "boom") throw new Error("boom");
          await Promise.resolve();
          state.push(message);
          return state;
        },
        answerCrash: (_message, _error, key) => duringCrash.push(self.runIfIdle(key, () => true)),
      }),
      { idleMs: 3_600_000, maxRestarts: 3, withinMs: 1000 },
      pino({ level: "silent" }),
      { ...NO_EVENTS, restart: (kind) => restarts.push(kind) },
    );
  }

  it("runs on the live state when nothing is queued, and refuses while mail is queued or being handled", async () => {
    const chats = journals();
    assert.equal(chats.runIfIdle("c1", () => true), false, "no live actor: nothing to run on");
    chats.tell("c1", "first");
    assert.equal(chats.runIfIdle("c1", () => true), false, "ran beside queued mail");
    await chats.whenIdle();
    assert.equal(chats.runIfIdle("c1", (state) => (state.push("outcome"), true)), true);
    chats.tell("c1", "second");
    await chats.whenIdle();
    let seen: string[] = [];
    assert.equal(chats.runIfIdle("c1", (state) => ((seen = [...state]), false)), false, "work may decline");
    assert.deepEqual(seen, ["first", "outcome", "second"]);
    chats.stopAll();
  });

  it("refuses while a crashed actor waits for its restart, and runs on the fresh state after", async () => {
    const duringCrash: boolean[] = [];
    const chats = journals([], duringCrash);
    chats.tell("c1", "before");
    await chats.whenIdle();
    chats.tell("c1", "boom");
    // whenIdle settles once the crashed message is counted out, before the supervisor acts.
    const deadline = Date.now() + 10_000;
    while (duringCrash.length === 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    chats.tell("c1", "after");
    await chats.whenIdle();
    let seen: string[] = [];
    assert.equal(chats.runIfIdle("c1", (state) => ((seen = [...state]), true)), true);
    assert.deepEqual(duringCrash, [false], "ran on the crashed state");
    assert.deepEqual(seen, ["after"], "the restarted incarnation starts from fresh state");
    chats.stopAll();
  });

  it("stops an actor whose outcome threw; its next message starts it afresh", async () => {
    const restarts: string[] = [];
    const chats = journals(restarts);
    chats.tell("c1", "before");
    await chats.whenIdle();
    assert.equal(
      chats.runIfIdle("c1", () => {
        throw new Error("bug");
      }),
      true,
    );
    assert.equal(chats.has("c1"), false);
    assert.equal(restarts.length, 1);
    chats.tell("c1", "after");
    await chats.whenIdle();
    let seen: string[] = [];
    chats.runIfIdle("c1", (state) => ((seen = [...state]), true));
    assert.deepEqual(seen, ["after"]);
    chats.stopAll();
  });
});

describe("a message an idle actor handles at once (handlesAtOnce)", () => {
  const kinds = start();
  after(() => stop(kinds));

  /**
   * Each message appends itself to the state: "now:..." synchronously (and is declared so),
   * anything else after a promise. "now:boom" throws; "now:echo" tells its actor "now:echoed".
   */
  function journals(restarts: string[] = [], crashed: string[] = []) {
    return new ActorDirectory<string, string[]>(
      kinds,
      `at-once-${Math.random().toString(36).slice(2, 8)}`,
      (self) => ({
        initialState: () => [],
        handle: (state, message, key) => {
          if (!message.startsWith("now:")) return Promise.resolve().then(() => (state.push(message), state));
          if (message === "now:boom") throw new Error("boom");
          state.push(message);
          if (message === "now:echo") {
            self.tell(key, "now:echoed");
            state.push("after the echo was told");
          }
          return state;
        },
        handlesAtOnce: (_state, message) => message.startsWith("now:"),
        answerCrash: (message) => crashed.push(message),
      }),
      { idleMs: 3_600_000, maxRestarts: 3, withinMs: 1000 },
      pino({ level: "silent" }),
      { ...NO_EVENTS, restart: (kind) => restarts.push(kind) },
    );
  }

  function journal(chats: ActorDirectory<string, string[]>, key: string): string[] {
    let seen: string[] = [];
    chats.runIfIdle(key, (state) => ((seen = [...state]), true));
    return seen;
  }

  it("is handled inside the teller's turn when nothing is queued, and waits its turn behind queued mail", async () => {
    const chats = journals();
    chats.tell("c1", "first");
    chats.tell("c1", "now:behind");
    assert.equal(chats.busy(), true, "handled ahead of queued mail");
    await chats.whenIdle();
    chats.tell("c1", "now:at once");
    assert.equal(chats.busy(), false);
    assert.equal(chats.tellIfActive("c1", "now:again"), true);
    assert.deepEqual(journal(chats, "c1"), ["first", "now:behind", "now:at once", "now:again"]);
    chats.stopAll();
  });

  it("never runs an actor inside its own handling: what it tells itself takes the mailbox", async () => {
    const chats = journals();
    chats.tell("c1", "now:echo");
    await chats.whenIdle();
    assert.deepEqual(journal(chats, "c1"), ["now:echo", "after the echo was told", "now:echoed"]);
    chats.stopAll();
  });

  it("stops an actor that threw, answering the message as a crash; its next message starts it afresh", async () => {
    const restarts: string[] = [];
    const crashed: string[] = [];
    const chats = journals(restarts, crashed);
    chats.tell("c1", "now:before");
    chats.tell("c1", "now:boom");
    assert.deepEqual(crashed, ["now:boom"]);
    assert.equal(chats.has("c1"), false);
    assert.equal(restarts.length, 1);
    chats.tell("c1", "after");
    await chats.whenIdle();
    assert.deepEqual(journal(chats, "c1"), ["after"]);
    chats.stopAll();
  });
});
