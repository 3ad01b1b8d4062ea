import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import { callBehaviour } from "../../src/actors/call-actor.ts";
import type { CallState } from "../../src/actors/call-state.ts";
import type { ConversationMessage, UserMessage } from "../../src/actors/messages.ts";
import type { CallMessage } from "../../src/calls/messages.ts";
import type { ServerFrame } from "../../src/protocol/frames.ts";
import type { ConnectionRef } from "../../src/seams.ts";
import { ManualClock } from "../../src/util/clock.ts";

// One call actor's behaviour on its own: what each device is sent, in order. Messages to
// UserActors and chats are recorded, not delivered; the test plays the callee's UserActor.

const CALL = "c1@n1";
const conn = (id: number): ConnectionRef => ({ node: "n1", id });
const ALICE = { user: "alice", device: "phone", conn: conn(1) };
const BOB = { user: "bob", device: "phone", conn: conn(2) };

function callActor() {
  const sent: Array<{ to: number; frame: ServerFrame }> = [];
  const toUsers: Array<{ user: string; message: UserMessage }> = [];
  const toChats: ConversationMessage[] = [];
  const behaviour = callBehaviour({
    link: {
      send: (to, frame) => void sent.push({ to: to.id, frame }),
      close: () => {},
      closeUser: () => {},
      limit: () => {},
    },
    users: { tell: (user, message) => void toUsers.push({ user, message }), tellIfActive: () => true },
    conversations: { tell: (_chat, message) => void toChats.push(message) },
    groups: { get: async () => undefined },
    self: { tell: () => {} },
    ringTimeoutMs: 30_000,
    maxParticipants: 8,
    clock: new ManualClock(),
    log: pino({ level: "silent" }),
  });
  let state: CallState = behaviour.initialState(CALL);
  const handle = async (message: CallMessage) => {
    state = await behaviour.handle(state, message, CALL);
  };
  const framesTo = (c: ConnectionRef) => sent.filter((s) => s.to === c.id).map((s) => s.frame);
  return { handle, framesTo, toUsers, toChats, state: () => state };
}

/** Alice calls Bob, whose one device rings. */
async function ringing() {
  const actor = callActor();
  await actor.handle({ type: "start", caller: ALICE, r: 1, to: "bob", video: false, sdp: "offer" });
  await actor.handle({ type: "rung", user: "bob", devices: [{ device: BOB.device, conn: BOB.conn }], first: true });
  return actor;
}

describe("call actor", () => {
  it("answers the caller call.ok and rings the callee", async () => {
    const actor = await ringing();
    assert.deepEqual(actor.framesTo(ALICE.conn), [{ t: "call.ok", r: 1, call: CALL }]);
    assert.ok(actor.toUsers.some(({ user, message }) => user === "bob" && message.type === "call.ring"));
    assert.equal(actor.state().phase, "ringing");
  });

  it("answers a rejecting device call.ok before its call.end, so its gateway counts the call over", async () => {
    const actor = await ringing();
    await actor.handle({ type: "signal", from: BOB, frame: { t: "call.reject", r: 7, call: CALL, reason: "declined" } });
    assert.deepEqual(actor.framesTo(BOB.conn), [
      { t: "call.ok", r: 7, call: CALL },
      { t: "call.end", call: CALL, reason: "declined" },
    ]);
    assert.deepEqual(actor.framesTo(ALICE.conn).at(-1), { t: "call.end", call: CALL, reason: "declined", by: "bob" });
    assert.equal(actor.toChats.length, 1, "the call is recorded in the chat once");
  });

  it("hands the answering device the caller's early candidates after its call.ok", async () => {
    const actor = await ringing();
    await actor.handle({ type: "signal", from: ALICE, frame: { t: "call.ice", call: CALL, candidate: "early" } });
    await actor.handle({ type: "signal", from: BOB, frame: { t: "call.answer", r: 3, call: CALL, sdp: "answer" } });
    assert.deepEqual(actor.framesTo(BOB.conn), [
      { t: "call.ok", r: 3, call: CALL },
      { t: "call.ice", call: CALL, from: "alice", device: "phone", candidate: "early" },
    ]);
    assert.deepEqual(actor.framesTo(ALICE.conn).at(-1), { t: "call.answer", call: CALL, from: "bob", device: "phone", sdp: "answer" });
  });

  it("refuses a device that is not in the call alike whatever it asks, and never answers its ICE", async () => {
    const actor = await ringing();
    const stranger = { user: "eve", device: "phone", conn: conn(9) };
    await actor.handle({ type: "signal", from: stranger, frame: { t: "call.end", r: 4, call: CALL } });
    await actor.handle({ type: "signal", from: stranger, frame: { t: "call.ice", call: CALL, candidate: "x" } });
    assert.deepEqual(actor.framesTo(stranger.conn), [{ t: "err", r: 4, code: "not_found", msg: "no such call, or it is over" }]);
    assert.equal(actor.state().phase, "ringing");
  });

  it("refuses a second start of the same call id", async () => {
    const actor = await ringing();
    await actor.handle({ type: "start", caller: BOB, r: 2, to: "alice", video: false, sdp: "offer" });
    assert.deepEqual(actor.framesTo(BOB.conn), [{ t: "err", r: 2, code: "conflict", msg: "this call id is taken" }]);
  });
});
