import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Ring } from "../../src/cluster/ring.ts";
import { userKey } from "../../src/cluster/routing.ts";
import type { PresenceFrame, ServerFrame } from "../../src/protocol/frames.ts";
import { ClusterBackend } from "../support/cluster.ts";
import type { NodeProcess } from "../support/node.ts";
import { PairTraffic } from "../support/pair-traffic.ts";

/**
 * Three node processes on 127.0.0.2-4 with one NATS, one CQL keyspace and one Redis. One is
 * killed with SIGKILL under traffic, then NATS itself restarts: every message answered `sent`
 * still arrives, once and in order.
 */
describe("node death and NATS restart under traffic", () => {
  let backend: ClusterBackend;
  const nodes: NodeProcess[] = [];
  const dead = new Set<NodeProcess>();
  const live = () => nodes.filter((node) => !dead.has(node)).map((node) => node.url);

  before(async () => {
    backend = await ClusterBackend.start(`nd${process.pid}`);
    for (let i = 0; i < 3; i += 1) nodes.push(await startNode(i));
  });
  after(async () => {
    for (const node of nodes) await node.kill("SIGTERM");
    await backend.stop();
  });

  function startNode(i: number): Promise<NodeProcess> {
    return backend.startProcess(`proc-${i}`, `127.0.0.${i + 2}`, { ROUTER_CLUSTER_HEARTBEAT_MS: "250" });
  }

  it("carries direct and group messages between users on different node processes", async () => {
    const members = await Promise.all(Array.from({ length: 6 }, (_, i) => nodes[i % 3]!.connect(`pm${i}`)));
    const direct = await members[0]!.send("pm1", "hello across processes");
    const [delivered] = await members[1]!.waitForMessages(1, direct.chat);
    assert.equal(delivered?.body, "hello across processes");

    const group = await members[0]!.group("create", { name: "spread", members: members.slice(1).map((_, i) => `pm${i + 1}`) });
    for (let n = 0; n < 6; n += 1) await members[n]!.sendToGroup(group.chat, `g${n}`);
    for (const [i, member] of members.entries()) {
      const expected = ["g0", "g1", "g2", "g3", "g4", "g5"].filter((_, n) => n !== i);
      const received = await member.waitForMessages(1 + expected.length, group.chat);
      assert.deepEqual(received.filter((m) => m.kind !== "system").map((m) => m.body), expected, `member ${i}: each once, in order`);
    }
    await Promise.all(members.map((member) => member.close()));
  });

  it("keeps every answered message when a node is SIGKILLed and when NATS restarts", async () => {
    // Someone whose only device and actor are on the node about to die, watched from a node
    // that stays (by a watcher whose own actor stays put too).
    const three = Ring.of(["proc-0", "proc-1", "proc-2"]);
    const two = Ring.of(["proc-0", "proc-2"]);
    const doomed = Array.from({ length: 100 }, (_, i) => `doomed${i}`).find((u) => three.ownerOf(userKey(u)) === "proc-1")!;
    const watcherName = Array.from({ length: 100 }, (_, i) => `onlooker${i}`).find(
      (u) => three.ownerOf(userKey(u)) === "proc-0" && two.ownerOf(userKey(u)) === "proc-0",
    )!;
    await nodes[1]!.connect(doomed);
    const watcher = await nodes[0]!.connect(watcherName);
    watcher.sendRaw({ t: "watch", users: [doomed] });
    const isDoomed = (f: ServerFrame) => f.t === "presence" && (f as PresenceFrame).user === doomed;
    assert.equal((await watcher.waitFor<PresenceFrame>(isDoomed)).online, true);

    const traffic = new PairTraffic("k", 12, 60, live);
    await traffic.start();
    await traffic.milestone(traffic.total / 3);
    dead.add(nodes[1]!);
    const seenBefore = watcher.frames.length;
    assert.equal(await nodes[1]!.kill("SIGKILL"), null);
    // Its owner died with it: the watcher is told it went offline.
    const gone = await watcher.waitFor<PresenceFrame>((f) => isDoomed(f) && !(f as PresenceFrame).online, 10_000, seenBefore);
    assert.ok(gone.last_seen !== undefined);
    await traffic.milestone((2 * traffic.total) / 3);
    await backend.nats.restart();
    await traffic.verify();
    const stored = await backend.stores.messages.readAfter(traffic.chatOf(0), 0, 1000);
    assert.deepEqual(stored.map((m) => m.body), Array.from({ length: traffic.perPair }, (_, n) => `m${n}`), "stored once each");
    await traffic.close();
    await watcher.close();
  });
});
