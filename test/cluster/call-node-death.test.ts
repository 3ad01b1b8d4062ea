import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Ring } from "../../src/cluster/ring.ts";
import { userKey } from "../../src/cluster/routing.ts";
import type { CallEndedFrame, CallIncomingIceFrame, CallIncomingOfferFrame, ServerFrame } from "../../src/protocol/frames.ts";
import { ClusterBackend } from "../support/cluster.ts";
import type { NodeProcess } from "../support/node.ts";

/**
 * Three node processes. A call between users on two of them is held by the third (the node
 * its id names); SIGKILLing that node ends the call for both sides, with reason `failed`.
 */
describe("calls across nodes, and the death of the node holding one", () => {
  let backend: ClusterBackend;
  const nodes: NodeProcess[] = [];
  const ids = ["callnode-0", "callnode-1", "callnode-2"];

  before(async () => {
    backend = await ClusterBackend.start(`cd${process.pid}`);
    for (let i = 0; i < 3; i += 1) {
      nodes.push(await backend.startProcess(ids[i]!, `127.0.0.${i + 2}`, { ROUTER_CLUSTER_HEARTBEAT_MS: "250" }));
    }
    await backend.waitForRing(ids);
  });
  after(async () => {
    for (const node of nodes) await node.kill("SIGTERM");
    await backend.stop();
  });

  it("relays a call between nodes, and ends it for both sides when its node dies", async () => {
    // Users whose actors stay where they are when callnode-2 dies.
    const three = Ring.of(ids);
    const two = Ring.of(ids.slice(0, 2));
    const stays = (prefix: string, node: string) =>
      Array.from({ length: 200 }, (_, i) => `${prefix}${i}`).find((u) => three.ownerOf(userKey(u)) === node && two.ownerOf(userKey(u)) === node)!;
    const callerName = stays("caller", ids[0]!);
    const calleeName = stays("callee", ids[1]!);
    const caller = await nodes[0]!.connect(callerName);
    const callee = await nodes[1]!.connect(calleeName);
    const isEnd = (call: string) => (f: ServerFrame): f is CallEndedFrame => f.t === "call.end" && f.call === call;

    // The ring places each new call; call until one lands on the node that will die.
    let call = "";
    for (let attempt = 0; attempt < 40 && !call.endsWith(`@${ids[2]}`); attempt += 1) {
      if (call) {
        await caller.hangUp(call);
        await callee.waitFor(isEnd(call), 30_000);
      }
      call = await caller.call({ to: calleeName }, "offer-sdp", true);
      await callee.waitFor((f): f is CallIncomingOfferFrame => f.t === "call.offer" && f.call === call, 30_000);
    }
    assert.ok(call.endsWith(`@${ids[2]}`), `no call was placed on ${ids[2]}: ${call}`);

    await callee.answer(call, "answer-sdp");
    await caller.waitFor((f) => f.t === "call.answer" && f.call === call, 30_000);
    for (let i = 0; i < 10; i += 1) caller.ice(call, `c${i}`);
    for (let i = 0; i < 10; i += 1) callee.ice(call, `d${i}`);
    const iceOf = async (client: typeof caller) => {
      await client.waitFor(() => client.frames.filter((f) => f.t === "call.ice" && f.call === call).length >= 10, 30_000);
      return client.frames.filter((f): f is CallIncomingIceFrame => f.t === "call.ice" && f.call === call).map((f) => f.candidate);
    };
    assert.deepEqual(await iceOf(callee), Array.from({ length: 10 }, (_, i) => `c${i}`));
    assert.deepEqual(await iceOf(caller), Array.from({ length: 10 }, (_, i) => `d${i}`));

    assert.equal(await nodes[2]!.kill("SIGKILL"), null);
    const [forCaller, forCallee] = await Promise.all([caller.waitFor(isEnd(call), 30_000), callee.waitFor(isEnd(call), 30_000)]);
    assert.deepEqual(forCaller, { t: "call.end", call, reason: "failed" });
    assert.deepEqual(forCallee, { t: "call.end", call, reason: "failed" });

    // Neither is left "in a call": they can call each other again, on a node still there.
    const again = await caller.call({ to: calleeName }, "sdp");
    await callee.waitFor((f) => f.t === "call.offer" && f.call === again, 30_000);
    assert.ok(!again.endsWith(`@${ids[2]}`));
    await caller.hangUp(again);
    await callee.waitFor(isEnd(again), 30_000);
    await Promise.all([caller.close(), callee.close()]);
  });
});
