import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connect, type NatsConnection } from "nats";
import { requestDrain } from "../../src/cluster/admin.ts";
import { ClusterBackend } from "../support/cluster.ts";
import type { NodeProcess } from "../support/node.ts";
import { PairTraffic } from "../support/pair-traffic.ts";

/**
 * Three node processes on 127.0.0.2-4 with one NATS, one CQL keyspace and one Redis. Under
 * traffic a fourth joins, then an operator drains one: nothing answered `sent` is lost,
 * duplicated to a client, or reordered, and nothing is stored twice.
 */
describe("the ring changing under traffic", () => {
  let backend: ClusterBackend;
  let operator: NatsConnection;
  const nodes: NodeProcess[] = [];
  const gone = new Set<NodeProcess>();
  const live = () => nodes.filter((node) => !gone.has(node)).map((node) => node.url);

  async function startNode(i: number): Promise<NodeProcess> {
    const node = await backend.startProcess(`ring-${i}`, `127.0.0.${i + 2}`, { ROUTER_CLUSTER_HEARTBEAT_MS: "200" });
    nodes.push(node);
    return node;
  }

  before(async () => {
    backend = await ClusterBackend.start(`rc${process.pid}`);
    operator = await connect({ servers: backend.nats.url });
    for (let i = 0; i < 3; i += 1) await startNode(i);
    await backend.waitForRing(["ring-0", "ring-1", "ring-2"]);
  });
  after(async () => {
    await operator.close();
    for (const node of nodes) await node.kill("SIGTERM");
    await backend.stop();
  });

  it("loses, duplicates and reorders nothing while a node joins and another drains", async () => {
    const traffic = new PairTraffic("r", 16, 60, live);
    await traffic.start();

    await traffic.milestone(traffic.total / 3);
    await startNode(3);
    await backend.waitForRing(["ring-0", "ring-1", "ring-2", "ring-3"]);

    await traffic.milestone((2 * traffic.total) / 3);
    gone.add(nodes[1]!);
    await requestDrain(operator, backend.prefix, "ring-1");
    assert.equal(await nodes[1]!.exited, 0, "a drained node exits cleanly");
    await backend.waitForRing(["ring-0", "ring-2", "ring-3"]);

    await traffic.verify();
    for (let i = 0; i < 16; i += 1) {
      const stored = await backend.stores.messages.readAfter(traffic.chatOf(i), 0, 1000);
      assert.equal(stored.length, traffic.perPair, `pair ${i}: nothing stored twice`);
    }
    await traffic.close();
  });
});
