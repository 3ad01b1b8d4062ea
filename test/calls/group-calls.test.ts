import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { CallRecord } from "../../src/actors/call-state.ts";
import type {
  CallEndedFrame,
  CallIncomingAnswerFrame,
  CallIncomingIceFrame,
  CallIncomingOfferFrame,
  CallJoinedFrame,
  CallLeftFrame,
  MessageFrame,
  ServerFrame,
} from "../../src/protocol/frames.ts";
import { RequestError, type RouterClient } from "../../sdk/client.ts";
import { TestNode } from "../support/node.ts";

const isEnd = (call: string) => (f: ServerFrame): f is CallEndedFrame => f.t === "call.end" && f.call === call;
const joined = (call: string, user: string) => (f: ServerFrame): f is CallJoinedFrame => f.t === "call.join" && f.call === call && f.user === user;
const left = (call: string, user: string) => (f: ServerFrame): f is CallLeftFrame => f.t === "call.leave" && f.call === call && f.user === user;

function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  return assert.rejects(promise, (error: unknown) => error instanceof RequestError && error.code === code);
}

describe("group calls (a mesh of up to 8)", () => {
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

  it("rings the members, each joiner negotiates with every participant, and join / leave reach the group's online members", async () => {
    const [ann, ben, cat, dan, eve] = await Promise.all(["gc-ann", "gc-ben", "gc-cat", "gc-dan", "gc-eve"].map((user) => connect(user)));
    const benTablet = await connect("gc-ben", "tablet");
    const group = await ann!.group("create", { name: "calls", members: ["gc-ben", "gc-cat", "gc-dan", "gc-eve"] });

    const call = await ann!.call({ group: group.chat }, undefined, true);
    for (const member of [ben!, benTablet, cat!, dan!, eve!]) {
      const ring = await member.waitFor((f): f is CallIncomingOfferFrame => f.t === "call.offer" && f.call === call);
      assert.deepEqual(ring, { t: "call.offer", call, from: "gc-ann", device: "default", video: true, group: group.chat });
    }
    // Everyone online hears who is in the call.
    assert.deepEqual((await eve!.waitFor(joined(call, "gc-ann"))).participants, ["gc-ann"]);

    // Ben joins from his tablet; his phone stops ringing.
    await benTablet.joinCall(call);
    await ben!.waitFor((f) => f.t === "call.answered_elsewhere" && f.call === call);
    const benJoined = await dan!.waitFor(joined(call, "gc-ben"));
    assert.deepEqual(benJoined, { t: "call.join", call, group: group.chat, user: "gc-ben", device: "tablet", participants: ["gc-ann", "gc-ben"] });
    // The joiner offers to each participant; each answers; ICE is addressed per peer.
    await benTablet.offer(call, "gc-ann", "ben-to-ann", true);
    const offerToAnn = await ann!.waitFor((f): f is CallIncomingOfferFrame => f.t === "call.offer" && f.call === call && f.from === "gc-ben");
    assert.equal(offerToAnn.sdp, "ben-to-ann");
    assert.equal(offerToAnn.device, "tablet");
    await ann!.answer(call, "ann-to-ben", "gc-ben");
    assert.equal((await benTablet.waitFor((f): f is CallIncomingAnswerFrame => f.t === "call.answer" && f.call === call && f.from === "gc-ann")).sdp, "ann-to-ben");

    await cat!.joinCall(call);
    assert.deepEqual((await ann!.waitFor(joined(call, "gc-cat"))).participants, ["gc-ann", "gc-ben", "gc-cat"]);
    await cat!.offer(call, "gc-ann", "cat-to-ann");
    await cat!.offer(call, "gc-ben", "cat-to-ben");
    await benTablet.waitFor((f) => f.t === "call.offer" && f.call === call && f.from === "gc-cat");
    await benTablet.answer(call, "ben-to-cat", "gc-cat");
    await cat!.waitFor((f) => f.t === "call.answer" && f.call === call && f.from === "gc-ben");
    for (let i = 0; i < 5; i += 1) cat!.ice(call, `c-b${i}`, "gc-ben");
    cat!.ice(call, "c-a", "gc-ann");
    await benTablet.waitFor(() => benTablet.frames.filter((f) => f.t === "call.ice" && f.call === call).length >= 5);
    assert.deepEqual(
      benTablet.frames.filter((f): f is CallIncomingIceFrame => f.t === "call.ice" && f.call === call).map((f) => [f.from, f.candidate]),
      Array.from({ length: 5 }, (_, i) => ["gc-cat", `c-b${i}`]),
    );
    await ann!.waitFor((f) => f.t === "call.ice" && f.call === call && f.candidate === "c-a");
    // A frame for someone not in the call goes nowhere.
    await rejectsWith(cat!.offer(call, "gc-dan", "x"), "not_found");

    // Dan declines: his ringing stops, the call goes on.
    await dan!.reject(call, "declined");
    // Ben leaves: the rest hear it; two are still in.
    await benTablet.hangUp(call);
    assert.deepEqual((await eve!.waitFor(left(call, "gc-ben"))).participants, ["gc-ann", "gc-cat"]);
    await ann!.waitFor(left(call, "gc-ben"));
    // Eve is still ringing; ann leaves, cat is alone with someone still ringing: it goes on
    // until cat leaves too.
    await ann!.hangUp(call);
    await cat!.waitFor(left(call, "gc-ann"));
    await cat!.hangUp(call);
    await eve!.waitFor(isEnd(call));

    const record = await dan!.waitFor((f): f is MessageFrame => f.t === "msg" && f.kind === "call" && f.chat === group.chat);
    const body = JSON.parse(record.body as string) as CallRecord;
    assert.equal(body.outcome, "answered");
    assert.deepEqual(body.participants, ["gc-ann", "gc-ben", "gc-cat"]);
  });

  it("refuses calls in groups larger than 8, and outsiders", async () => {
    const members = Array.from({ length: 8 }, (_, i) => `gc-big${i}`);
    const owner = await connect("gc-owner");
    const big = await owner.group("create", { name: "big", members });
    await rejectsWith(owner.call({ group: big.chat }), "limit_exceeded");
    const small = await owner.group("create", { name: "small", members: members.slice(0, 2) });
    const outsider = await connect("gc-outsider");
    await rejectsWith(outsider.call({ group: small.chat }), "forbidden");
    const call = await owner.call({ group: small.chat });
    await rejectsWith(outsider.joinCall(call), "not_found");
    // A ringing member cannot answer the ring itself: there is no offer in it.
    const member = await connect("gc-big0");
    await member.waitFor((f) => f.t === "call.offer" && f.call === call);
    await rejectsWith(member.answer(call, "sdp"), "conflict");
    await owner.hangUp(call);
    await member.waitFor(isEnd(call));
  });
});
