import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import type { PushNotification, PushProvider } from "../../src/push/notification.ts";
import { PushScheduler } from "../../src/push/scheduler.ts";
import { WakeQueue } from "../../src/push/wake-queue.ts";
import type { CursorStore } from "../../src/storage/cursors.ts";
import type { PushRegistration, PushRegistrationStore } from "../../src/storage/push.ts";
import { ManualClock } from "../../src/util/clock.ts";

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("wake queue", () => {
  it("wakes each item at its own time, in order, with one timer", () => {
    const clock = new ManualClock(0);
    const woken: string[] = [];
    const queue = new WakeQueue<string>(clock, (item, at) => woken.push(`${item}@${at}`));
    queue.wake("c", 300);
    queue.wake("a", 100);
    queue.wake("b", 200);
    queue.wake("a2", 100);
    assert.equal(clock.pending, 1);
    clock.advance(99);
    assert.deepEqual(woken, []);
    clock.advance(1);
    assert.deepEqual(woken, ["a@100", "a2@100"]);
    clock.advance(250);
    assert.deepEqual(woken, ["a@100", "a2@100", "b@200", "c@300"]);
    assert.equal(queue.size, 0);
    assert.equal(clock.pending, 0);
  });

  it("keeps heap order over many random wakes", () => {
    const clock = new ManualClock(0);
    const woken: number[] = [];
    const queue = new WakeQueue<number>(clock, (_item, at) => woken.push(at));
    for (let i = 0; i < 2000; i += 1) queue.wake(i, Math.floor(Math.random() * 10_000));
    clock.advance(10_000);
    assert.equal(woken.length, 2000);
    for (let i = 1; i < woken.length; i += 1) assert.ok(woken[i - 1]! <= woken[i]!);
  });
});

describe("push scheduler bookkeeping", () => {
  it("holds a thousand offline users' messages with one timer, and pushes each once", async () => {
    const clock = new ManualClock();
    const pushed: Array<{ user: string; notification: PushNotification }> = [];
    const provider: PushProvider = {
      platform: "webhook",
      send: async (registration, notification) => (pushed.push({ user: registration.user, notification }), { kind: "sent" }),
      sendCall: async () => ({ kind: "sent" }),
      close: async () => undefined,
    };
    const store = {
      registrations: async (user: string): Promise<PushRegistration[]> => [{ user, device: "phone", platform: "webhook", token: "t", updatedAt: 0 }],
      settings: async () => ({ mutes: new Map<string, number>() }),
    } as unknown as PushRegistrationStore;
    // Even-numbered users acked everything; odd ones nothing.
    const cursors: CursorStore = {
      cursors: async (user) => new Map(Number(user.slice(1)) % 2 === 0 ? [[`d:a:${user}`, 10]] : []),
      setCursor: async () => undefined,
    };
    const push = new PushScheduler({ store, cursors, providers: new Map([["webhook", provider]]), log: pino({ level: "silent" }), options: { delayMs: 1000, coalesceMs: 5000, previewChars: 10 }, clock });
    for (let seq = 1; seq <= 3; seq += 1) {
      push.onDurable(
        Array.from({ length: 1000 }, (_, i) => ({
          message: { chat: `d:a:u${i}`, seq, from: "a", ts: clock.now(), body: `hello ${seq}`, kind: "text", cid: `c${seq}` },
          audience: ["a", `u${i}`],
        })),
      );
      clock.advance(10);
    }
    assert.equal(clock.pending, 1, "one timer for every user");
    clock.advance(1000);
    for (let i = 0; i < 10; i += 1) await settle();
    assert.equal(pushed.length, 500);
    assert.ok(pushed.every(({ user, notification }) => Number(user.slice(1)) % 2 === 1 && notification.count === 3 && notification.title === "a"));
    clock.advance(10_000);
    for (let i = 0; i < 10; i += 1) await settle();
    assert.equal(pushed.length, 500, "a device is pushed about a message once");
    assert.equal(clock.pending, 0, "nothing held, nothing scheduled");
    await push.stop();
  });
});
