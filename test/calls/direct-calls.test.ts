import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { CallRecord } from "../../src/actors/call-state.ts";
import {
  directChatId,
  type CallEndedFrame,
  type CallIncomingAnswerFrame,
  type CallIncomingIceFrame,
  type CallIncomingOfferFrame,
  type CallRingingFrame,
  type MessageFrame,
  type ServerFrame,
} from "../../src/protocol/frames.ts";
import { RequestError, type RouterClient } from "../../sdk/client.ts";
import { MAX_CALLS_PER_CONNECTION } from "../../src/calls/service.ts";
import { ManualClock } from "../../src/util/clock.ts";
import { TestNode } from "../support/node.ts";

const isOffer = (call?: string) => (f: ServerFrame): f is CallIncomingOfferFrame => f.t === "call.offer" && (call === undefined || f.call === call);
const isEnd = (call: string) => (f: ServerFrame): f is CallEndedFrame => f.t === "call.end" && f.call === call;
const isRecord = (call: string) => (f: ServerFrame): f is MessageFrame => f.t === "msg" && f.kind === "call" && (JSON.parse(f.body as string) as CallRecord).call === call;
const recordOf = (frame: MessageFrame) => JSON.parse(frame.body as string) as CallRecord;

function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  return assert.rejects(promise, (error: unknown) => error instanceof RequestError && error.code === code);
}

describe("1:1 calls", () => {
  let node: TestNode;
  const clients: RouterClient[] = [];
  const connect = async (user: string, device?: string) => {
    const client = await node.connect(user, device ? { device } : {});
    clients.push(client);
    return client;
  };
  before(async () => {
    node = await TestNode.start();
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await node.stop();
  });

  it("rings every device of the callee; the first to answer wins; ICE flows both ways in order; history records the call", async () => {
    const alice = await connect("call-alice");
    const bobPhone = await connect("call-bob", "phone");
    const bobLaptop = await connect("call-bob", "laptop");

    const call = await alice.call({ to: "call-bob" }, "offer-sdp", true);
    // The caller trickles candidates before anyone answers: they wait for the answering device.
    alice.ice(call, "a-early-1");
    alice.ice(call, "a-early-2");
    const [onPhone, onLaptop] = await Promise.all([bobPhone.waitFor(isOffer(call)), bobLaptop.waitFor(isOffer(call))]);
    assert.deepEqual(onPhone, { t: "call.offer", call, from: "call-alice", device: "default", video: true, sdp: "offer-sdp" });
    assert.deepEqual(onLaptop, onPhone);

    bobPhone.ringing(call);
    const ringing = await alice.waitFor<CallRingingFrame>((f) => f.t === "call.ringing" && f.call === call);
    assert.deepEqual(ringing, { t: "call.ringing", call, user: "call-bob", device: "phone" });

    await bobLaptop.answer(call, "answer-sdp");
    const answer = await alice.waitFor<CallIncomingAnswerFrame>((f) => f.t === "call.answer" && f.call === call);
    assert.deepEqual(answer, { t: "call.answer", call, from: "call-bob", device: "laptop", sdp: "answer-sdp" });
    await bobPhone.waitFor((f) => f.t === "call.answered_elsewhere" && f.call === call);
    // The phone lost: its answer now is refused.
    await rejectsWith(bobPhone.answer(call, "late"), "not_found");

    for (let i = 0; i < 20; i += 1) alice.ice(call, `a${i}`);
    for (let i = 0; i < 20; i += 1) bobLaptop.ice(call, `b${i}`);
    const iceOf = (client: RouterClient, count: number) =>
      client.waitFor(() => client.frames.filter((f) => f.t === "call.ice").length >= count).then(() =>
        client.frames.filter((f): f is CallIncomingIceFrame => f.t === "call.ice").map((f) => f.candidate),
      );
    assert.deepEqual(await iceOf(bobLaptop, 22), ["a-early-1", "a-early-2", ...Array.from({ length: 20 }, (_, i) => `a${i}`)]);
    assert.deepEqual(await iceOf(alice, 20), Array.from({ length: 20 }, (_, i) => `b${i}`));
    assert.equal(bobPhone.frames.filter((f) => f.t === "call.ice").length, 0, "the device that lost hears nothing of the call");

    await bobLaptop.hangUp(call);
    const [ended] = await Promise.all([alice.waitFor(isEnd(call)), bobLaptop.waitFor(isEnd(call))]);
    assert.equal(ended.reason, "hangup");
    assert.equal(ended.by, "call-bob");
    assert.ok(typeof ended.duration === "number" && ended.duration >= 0);

    // The record reaches every device, the one that was not in the call too, and history.
    const [record] = await Promise.all([alice.waitFor(isRecord(call)), bobPhone.waitFor(isRecord(call)), bobLaptop.waitFor(isRecord(call))]);
    assert.equal(record.chat, directChatId("call-alice", "call-bob"));
    assert.equal(record.from, "call-alice");
    const body = recordOf(record);
    assert.equal(body.outcome, "answered");
    assert.equal(body.video, true);
    assert.equal(body.caller, "call-alice");
    assert.ok(body.duration !== undefined && body.duration >= 0);
    const history = await bobPhone.history(record.chat);
    assert.ok(history.msgs.some((m) => m.kind === "call" && recordOf(m).call === call));
    // Over: nothing more goes through it.
    await rejectsWith(alice.answer(call, "again"), "not_found");
  });

  it("a declined call ends for the caller and is recorded as declined", async () => {
    const carol = await connect("call-carol");
    const dave = await connect("call-dave");
    const call = await carol.call({ to: "call-dave" }, "sdp");
    await dave.waitFor(isOffer(call));
    await dave.reject(call, "declined");
    const ended = await carol.waitFor(isEnd(call));
    assert.equal(ended.reason, "declined");
    assert.equal(ended.duration, undefined);
    assert.equal(recordOf(await carol.waitFor(isRecord(call))).outcome, "declined");
  });

  it("the caller hanging up before an answer stops the ringing, recorded as missed", async () => {
    const erin = await connect("call-erin");
    const frank = await connect("call-frank");
    const call = await erin.call({ to: "call-frank" }, "sdp");
    await frank.waitFor(isOffer(call));
    await erin.hangUp(call);
    assert.equal((await frank.waitFor(isEnd(call))).reason, "missed");
    assert.equal(recordOf(await frank.waitFor(isRecord(call))).outcome, "missed");
  });

  it("someone already in a call is busy; so is a callee's device rejecting busy", async () => {
    const gina = await connect("call-gina");
    const hank = await connect("call-hank");
    const ivan = await connect("call-ivan");
    const first = await gina.call({ to: "call-hank" }, "sdp");
    await hank.waitFor(isOffer(first));
    await hank.answer(first, "sdp");

    const second = await ivan.call({ to: "call-hank" }, "sdp");
    const busy = await ivan.waitFor(isEnd(second));
    assert.deepEqual(busy, { t: "call.end", call: second, reason: "busy" });
    assert.equal(hank.frames.some(isOffer(second)), false, "a busy callee is not rung");
    // The caller, too, is in a call.
    const third = await ivan.call({ to: "call-gina" }, "sdp");
    assert.equal((await ivan.waitFor(isEnd(third))).reason, "busy");

    await gina.hangUp(first);
    await hank.waitFor(isEnd(first));
    const fourth = await ivan.call({ to: "call-hank" }, "sdp");
    await hank.waitFor(isOffer(fourth));
    await hank.reject(fourth, "busy");
    assert.deepEqual(await ivan.waitFor(isEnd(fourth)), { t: "call.end", call: fourth, reason: "busy", by: "call-hank" });
  });

  it("refuses bad and foreign call frames", async () => {
    const jane = await connect("call-jane");
    const kyle = await connect("call-kyle");
    const mallory = await connect("call-mallory");
    await rejectsWith(jane.call({ to: "call-jane" }, "sdp"), "invalid_field");
    await rejectsWith(jane.request({ t: "call.offer", to: "call-kyle", group: "g:abcdefgh12", video: false, sdp: "x" }), "invalid_field");
    await rejectsWith(jane.request({ t: "call.offer", to: "call-kyle", sdp: "x" }), "invalid_field");
    await rejectsWith(jane.request({ t: "call.offer", to: "call-kyle", video: false, sdp: "x".repeat(40_000) }), "invalid_field");
    await rejectsWith(jane.request({ t: "call.answer", call: "not-a-call", sdp: "x" }), "invalid_field");
    await rejectsWith(jane.request({ t: "call.reject", call: "abcdefghijklmnopqrst@n", reason: "because" }), "invalid_field");
    // A message of the server's own kind cannot be forged.
    await rejectsWith(jane.request({ t: "send", to: "call-kyle", cid: "c", body: "{}", kind: "call" }), "invalid_field");

    const call = await jane.call({ to: "call-kyle" }, "sdp");
    await kyle.waitFor(isOffer(call));
    // Someone else holding the id can neither answer, end nor hear the call.
    await rejectsWith(mallory.answer(call, "sdp"), "not_found");
    await rejectsWith(mallory.hangUp(call), "not_found");
    await rejectsWith(mallory.request({ t: "call.answer", call: `${"a".repeat(20)}@${node.node.nodeId}`, sdp: "x" }), "not_found");
    // An id naming a node that is not in the cluster: over.
    await rejectsWith(mallory.request({ t: "call.end", call: `${"a".repeat(20)}@no-such-node` }), "not_found");
    await kyle.answer(call, "sdp");
    await jane.waitFor((f) => f.t === "call.answer" && f.call === call);
    await jane.hangUp(call);
    await kyle.waitFor(isEnd(call));
    assert.equal(mallory.frames.some((f) => f.t.startsWith("call.") && "call" in f && f.call === call), false);

    // One connection cannot spray calls: a few at once, then limit_exceeded.
    const sprayer = await connect("call-sprayer");
    const placed = [];
    for (let i = 0; i < MAX_CALLS_PER_CONNECTION; i += 1) placed.push(await sprayer.call({ to: `call-target${i}` }, "sdp"));
    await rejectsWith(sprayer.call({ to: "call-one-more" }, "sdp"), "limit_exceeded");
    await sprayer.hangUp(placed[0]!);
    await sprayer.waitFor(isEnd(placed[0]!));
    placed.push(await sprayer.call({ to: "call-one-more" }, "sdp"));
    for (const id of placed.slice(1)) await sprayer.hangUp(id);
  });

  it("a callee whose devices are all offline is rung on the device that connects in time", async () => {
    const lena = await connect("call-lena");
    const call = await lena.call({ to: "call-milo" }, "held-sdp");
    const milo = await connect("call-milo");
    const offer = await milo.waitFor(isOffer(call));
    assert.equal(offer.sdp, "held-sdp");
    await milo.answer(call, "sdp");
    await lena.waitFor((f) => f.t === "call.answer" && f.call === call);
    await milo.hangUp(call);
    await lena.waitFor(isEnd(call));
  });

  it("the caller's connection dropping ends the call for the callee", async () => {
    const nina = await node.connect("call-nina");
    const otto = await connect("call-otto");
    const call = await nina.call({ to: "call-otto" }, "sdp");
    await otto.waitFor(isOffer(call));
    await otto.answer(call, "sdp");
    await nina.waitFor((f) => f.t === "call.answer" && f.call === call);
    await nina.terminate();
    const ended = await otto.waitFor(isEnd(call));
    assert.equal(ended.reason, "hangup");
    assert.equal(ended.by, "call-nina");
  });
});

describe("calls that ring out, and blocked callers", () => {
  let node: TestNode;
  const blocked = new Set(["call-stalker"]);
  // The ring timeout runs on the node's clock, which the tests move on.
  const clock = new ManualClock();
  before(async () => {
    node = await TestNode.start({
      overrides: { clock, callHooks: { callerBlocked: (callee, caller) => callee === "call-quinn" && blocked.has(caller) } },
    });
  });
  after(async () => {
    await node.stop();
  });

  it("an unanswered call ends as missed after the ring timeout", async () => {
    const pete = await node.connect("call-pete");
    const quinn = await node.connect("call-quinn");
    const call = await pete.call({ to: "call-quinn" }, "sdp");
    await quinn.waitFor(isOffer(call));
    clock.advance(node.config.calls.ringTimeoutMs);
    const [forCaller, forCallee] = await Promise.all([pete.waitFor(isEnd(call)), quinn.waitFor(isEnd(call))]);
    assert.equal(forCaller.reason, "missed");
    assert.equal(forCallee.reason, "missed");
    assert.equal(recordOf(await quinn.waitFor(isRecord(call))).outcome, "missed");
    await Promise.all([pete.close(), quinn.close()]);
  });

  it("an offer held for an offline callee is gone once the call rang out", async () => {
    const rita = await node.connect("call-rita");
    const call = await rita.call({ to: "call-sam" }, "sdp");
    clock.advance(node.config.calls.ringTimeoutMs);
    assert.equal((await rita.waitFor(isEnd(call))).reason, "missed");
    const sam = await node.connect("call-sam");
    // What it gets instead: the record of the missed call, replayed like any message.
    assert.equal(recordOf(await sam.waitFor(isRecord(call))).outcome, "missed");
    assert.equal(sam.frames.some(isOffer(call)), false);
    await Promise.all([rita.close(), sam.close()]);
  });

  it("a blocked caller hears busy, exactly as from someone in another call, and nothing rings", async () => {
    const stalker = await node.connect("call-stalker");
    const quinn = await node.connect("call-quinn");
    const call = await stalker.call({ to: "call-quinn" }, "sdp");
    assert.deepEqual(await stalker.waitFor(isEnd(call)), { t: "call.end", call, reason: "busy" });
    assert.equal(quinn.frames.some(isOffer(call)), false);
    await Promise.all([stalker.close(), quinn.close()]);
  });
});
