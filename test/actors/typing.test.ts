import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TypingExpired, TypingNotice } from "../../src/actors/messages.ts";
import { TypingRelay, type TypingContext } from "../../src/actors/typing.ts";

const CHAT = "d:ann:ben";
const MEMBERS = ["ann", "ben"];

/**
 * The relay's side of a chat actor: holds counted as the directory counts them (tracked work
 * until it settles, queued mail until handled), messages to itself queued as a mailbox would,
 * until the test hands them to whichever relay is current (a restarted actor's).
 */
function actorContext() {
  const mailbox: TypingExpired[] = [];
  const forwarded: TypingNotice[] = [];
  let holds = 0;
  const context: TypingContext = {
    limits: { typingThrottleMs: 2000, typingExpiryMs: 20 },
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
  const expiries = async (count: number) => {
    while (mailbox.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
    // Handed over now, and handled by the caller at once.
    holds -= mailbox.length;
    return mailbox.splice(0);
  };
  return { context, forwarded, expiries, holds: () => holds };
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
});
