import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TypingExpired, TypingNotice } from "../../src/actors/messages.ts";
import { TypingRelay, type TypingContext } from "../../src/actors/typing.ts";
import { ManualClock } from "../../src/util/clock.ts";

const CHAT = "d:ann:ben";
const MEMBERS = ["ann", "ben"];

/**
 * The relay's side of a chat actor: holds counted as the directory counts them (tracked work
 * until it settles, queued mail until handled), messages to itself queued as a mailbox would,
 * until the test hands them to whichever relay is current (a restarted actor's).
 * Time is a manual clock: the test moves it on.
 */
function actorContext() {
  const mailbox: TypingExpired[] = [];
  const forwarded: TypingNotice[] = [];
  let holds = 0;
  const clock = new ManualClock();
  const context: TypingContext = {
    limits: { typingThrottleMs: 2000, typingExpiryMs: 20_000 },
    clock,
    forward: (_member, notice) => void forwarded.push(notice),
    self: {
      tell: (_chat, message) => {
        holds += 1;
        mailbox.push(message);
      },
      track: (_chat, work) => {
        holds += 1;
        void work.finally(() => (holds -= 1));
      },
    },
  };
  /** Lets the expiry pass and takes the `count` expiry messages its timers told the actor. */
  const expiries = async (count: number) => {
    assert.equal(mailbox.length, 0, "nothing expired before its time");
    clock.advance(context.limits.typingExpiryMs);
    assert.equal(mailbox.length, count);
    // Tracked work settled when its timer fired; its release runs once promises have run.
    await new Promise((resolve) => setImmediate(resolve));
    // Handed over now, and handled by the caller at once.
    holds -= mailbox.length;
    return mailbox.splice(0);
  };
  return { context, clock, forwarded, expiries, holds: () => holds };
}

describe("typing expiry and the actor's holds", () => {
  it("releases the hold of an expiry that fires into a restarted actor", async () => {
    const actor = actorContext();
    const before = new TypingRelay();
    before.handle(CHAT, MEMBERS, { type: "typing", user: "ann", on: true }, actor.context);
    assert.equal(actor.holds(), 1);
    const restarted = new TypingRelay();
    for (const expired of await actor.expiries(1)) restarted.handle(CHAT, MEMBERS, expired, actor.context);
    assert.equal(actor.holds(), 0, "nothing keeps the restarted actor from passivating");
    assert.deepEqual(actor.forwarded.map((n) => n.on), [true], "the fresh relay knows of no indicator to switch off");
  });

  it("releases once when off arrives after the expiry fired but before it was handled", async () => {
    const actor = actorContext();
    const relay = new TypingRelay();
    relay.handle(CHAT, MEMBERS, { type: "typing", user: "ann", on: true }, actor.context);
    const fired = await actor.expiries(1);
    relay.handle(CHAT, MEMBERS, { type: "typing", user: "ann", on: false }, actor.context);
    for (const expired of fired) relay.handle(CHAT, MEMBERS, expired, actor.context);
    assert.equal(actor.holds(), 0);
    assert.deepEqual(actor.forwarded.map((n) => n.on), [true, false], "switched off once");
  });

  it("switches off by itself, holding the actor until it has", async () => {
    const actor = actorContext();
    const relay = new TypingRelay();
    relay.handle(CHAT, MEMBERS, { type: "typing", user: "ann", on: true }, actor.context);
    relay.handle(CHAT, MEMBERS, { type: "typing", user: "ann", on: true }, actor.context);
    assert.equal(actor.holds(), 1, "one hold per user, however often it types");
    for (const expired of await actor.expiries(1)) relay.handle(CHAT, MEMBERS, expired, actor.context);
    assert.equal(actor.holds(), 0);
    assert.deepEqual(actor.forwarded.map((n) => [n.user, n.on]), [["ann", true], ["ann", false]]);
  });

  it("forwards a repeated on once per throttle window", async () => {
    const actor = actorContext();
    const relay = new TypingRelay();
    const on = { type: "typing", user: "ann", on: true } as const;
    relay.handle(CHAT, MEMBERS, on, actor.context);
    actor.clock.advance(actor.context.limits.typingThrottleMs - 1);
    relay.handle(CHAT, MEMBERS, on, actor.context);
    assert.equal(actor.forwarded.length, 1, "within the window: not forwarded again");
    actor.clock.advance(1);
    relay.handle(CHAT, MEMBERS, on, actor.context);
    assert.deepEqual(actor.forwarded.map((n) => n.on), [true, true], "the window has passed");
    // Each `on` restarted the expiry: it is a full expiry after the last one.
    actor.clock.advance(actor.context.limits.typingExpiryMs - 1);
    assert.equal(actor.clock.pending, 1);
    for (const expired of await actor.expiries(1)) relay.handle(CHAT, MEMBERS, expired, actor.context);
    assert.deepEqual(actor.forwarded.map((n) => n.on), [true, true, false]);
  });
});
