import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { ClusterBackend } from "../support/cluster.ts";
import { NodeProcess, tempDir } from "../support/node.ts";
import { PairTraffic } from "../support/pair-traffic.ts";

/**
 * Three node processes on 127.0.0.2-4 with one NATS, one CQL keyspace and one Redis. One is
 * killed with SIGKILL under traffic, then NATS itself restarts: every message answered `sent`
 * still arrives, once and in order.
 */
describe("node death and NATS restart under traffic", () => {
  let backend: ClusterBackend;
  const nodes: NodeProcess[] = [];
  const dataDirs: string[] = [];
  const dead = new Set<NodeProcess>();
  const live = () => nodes.filter((node) => !dead.has(node)).map((node) => node.url);

  before(async () => {
    backend = await ClusterBackend.start(`nd${process.pid}`);
    for (let i = 0; i < 3; i += 1) nodes.push(await startNode(i));
  });
  after(async () => {
    for (const node of nodes) await node.kill("SIGTERM");
    await backend.stop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  async function startNode(i: number): Promise<NodeProcess> {
    const { args, env } = backend.processSettings(`proc-${i}`);
    const dataDir = tempDir();
    dataDirs.push(dataDir);
    return NodeProcess.start(dataDir, undefined, args, { host: `127.0.0.${i + 2}`, env: { ...env, ROUTER_CLUSTER_HEARTBEAT_MS: "250" } });
  }

  it("keeps every answered message when a node is SIGKILLed and when NATS restarts", async () => {
    const traffic = new PairTraffic("k", 12, 60, live);
    await traffic.start();
    await traffic.milestone(traffic.total / 3);
    dead.add(nodes[1]!);
    assert.equal(await nodes[1]!.kill("SIGKILL"), null);
    await traffic.milestone((2 * traffic.total) / 3);
    await backend.nats.restart();
    await traffic.verify();
    const stored = await backend.stores.messages.readAfter(traffic.chatOf(0), 0, 1000);
    assert.deepEqual(stored.map((m) => m.body), Array.from({ length: traffic.perPair }, (_, n) => `m${n}`), "stored once each");
    await traffic.close();
  });
});
