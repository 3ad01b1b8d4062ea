import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import type { PushNotification, PushProvider } from "../../src/push/notification.ts";
import { PushScheduler, type DurableEntry } from "../../src/push/scheduler.ts";
import type { CursorStore } from "../../src/storage/cursors.ts";
import type { PushRegistration, PushRegistrationStore } from "../../src/storage/push.ts";
import { ManualClock } from "../../src/util/clock.ts";

const DELAY_MS = 1000;
const COALESCE_MS = 5000;

/** The fakes answer in microtasks: one macrotask turn lets the scheduler finish what a timer started. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A scheduler on a manual clock, for a user whose one device never acks (or acks everything at once). */
function scheduler(acksAll = false) {
  const clock = new ManualClock();
  const pushed: PushNotification[] = [];
  const looks = { registrations: 0 };
  const registration: PushRegistration = { user: "bob", device: "phone", platform: "webhook", token: "t", updatedAt: 0 };
  const provider: PushProvider = {
    platform: "webhook",
    send: async (_registration, notification) => (pushed.push(notification), { kind: "sent" }),
    sendCall: async () => ({ kind: "sent" }),
    close: async () => undefined,
  };
  const store = {
    registrations: async () => (looks.registrations++, [registration]),
    settings: async () => ({ mutes: new Map<string, number>() }),
  } as unknown as PushRegistrationStore;
  const cursors: CursorStore = { cursors: async () => new Map(acksAll ? [["d:ann:bob", Number.MAX_SAFE_INTEGER]] : []), setCursor: async () => undefined };
  const push = new PushScheduler({
    store,
    cursors,
    providers: new Map([["webhook", provider]]),
    log: pino({ level: "silent" }),
    options: { delayMs: DELAY_MS, coalesceMs: COALESCE_MS, previewChars: 0 },
    clock,
  });
  let seq = 0;
  const durable = (): DurableEntry => {
    seq += 1;
    return { message: { chat: "d:ann:bob", seq, from: "ann", ts: clock.now(), body: "hi", kind: "text", cid: `c${seq}` }, audience: ["ann", "bob"] };
  };
  return { clock, pushed, push, durable, looks };
}

describe("push scheduler on a manual clock", () => {
  it("pushes once the delay has passed, not before", async () => {
    const { clock, pushed, push, durable } = scheduler();
    push.onDurable([durable()]);
    clock.advance(DELAY_MS - 1);
    await settle();
    assert.equal(pushed.length, 0, "still within the delay");
    clock.advance(1);
    await settle();
    assert.deepEqual(pushed.map((n) => n.count), [1]);
    await push.stop();
  });

  it("settles what comes due within a fifth of the delay in the same look, and nothing later", async () => {
    // The device acks: no push, so no coalescing window hides how often the user is looked at.
    const { clock, pushed, push, durable, looks } = scheduler(true);
    push.onDurable([durable()]);
    clock.advance(DELAY_MS / 10);
    push.onDurable([durable()]);
    clock.advance(DELAY_MS / 2);
    push.onDurable([durable()]);
    // The first comes due; the second is due within a fifth of the delay, the third is not.
    clock.advance(DELAY_MS - DELAY_MS / 10 - DELAY_MS / 2);
    await settle();
    assert.equal(looks.registrations, 1, "one look for the first two");
    clock.advance(DELAY_MS / 10);
    await settle();
    assert.equal(looks.registrations, 1, "the second was settled with the first");
    clock.advance(DELAY_MS / 2 - 1);
    await settle();
    assert.equal(looks.registrations, 1, "the third is not due yet");
    clock.advance(1);
    await settle();
    assert.equal(looks.registrations, 2, "the third's own look");
    assert.deepEqual(pushed, [], "everything was acked");
    await push.stop();
  });

  it("holds what comes due within the coalescing window for one push when it ends", async () => {
    const { clock, pushed, push, durable } = scheduler();
    push.onDurable([durable()]);
    clock.advance(DELAY_MS);
    await settle();
    assert.equal(pushed.length, 1);
    push.onDurable([durable()]);
    push.onDurable([durable()]);
    // Both are due after one more delay, but the window from the first push still runs.
    clock.advance(DELAY_MS);
    await settle();
    assert.equal(pushed.length, 1, "no second push inside the window");
    clock.advance(COALESCE_MS - DELAY_MS - 1);
    await settle();
    assert.equal(pushed.length, 1, "the window's last moment");
    clock.advance(1);
    await settle();
    assert.deepEqual(pushed.map((n) => n.count), [1, 2], "one summary of both when the window ends");
    await push.stop();
  });
});
