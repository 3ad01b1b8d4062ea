import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ServerFrame, StatusNewFrame, StatusViewedFrame } from "../../src/protocol/frames.ts";
import { Ring } from "../../src/cluster/ring.ts";
import { userKey } from "../../src/cluster/routing.ts";
import { RequestError } from "../../sdk/client.ts";
import { ClusterBackend } from "../support/cluster.ts";
import { TestNode } from "../support/node.ts";

const TTL_MS = 8000;

async function sweptCount(node: TestNode): Promise<number> {
  const line = (await node.node.metrics.render()).split("\n").find((l) => l.startsWith("router_status_swept_total"));
  return line ? Number(line.split(" ").pop()) : 0;
}

async function eventually(check: () => Promise<boolean> | boolean, what: string, deadlineMs = 60_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Statuses have no owner actor: any node posts, views and deletes in the shared store. A poster
 * on one node, viewers on another, each user's actor on the node they are not connected to.
 */
describe("status across a cluster", () => {
  let backend: ClusterBackend;
  const nodes: TestNode[] = [];

  before(async () => {
    backend = await ClusterBackend.start(`s${process.pid}`);
    for (let i = 0; i < 2; i += 1) {
      nodes.push(
        await TestNode.start({
          config: (c) => {
            c.nodeId = `snode-${i}`;
            c.storage = backend.storage();
            c.cluster.nats = backend.nats.url;
            c.cluster.subjectPrefix = backend.prefix;
            c.cluster.heartbeatMs = 200;
            c.status.ttlMs = TTL_MS;
            c.status.sweepIntervalMs = 200;
          },
        }),
      );
    }
    await Promise.all(nodes.map((node) => node.node.cluster!.whenMembers(2)));
  });
  after(async () => {
    for (const node of nodes) await node.stop();
    await backend.stop();
  });

  it("shows a post on one node to its audience on another, counts their views, and expires it once", async () => {
    const ring = Ring.of(["snode-0", "snode-1"]);
    const on = (node: string, prefix: string) => Array.from({ length: 100 }, (_, i) => `${prefix}${i}`).find((u) => ring.ownerOf(userKey(u)) === node)!;
    const posterId = on("snode-1", "sposter");
    const viewerId = on("snode-0", "sviewer");
    const outsiderId = on("snode-0", "soutsider");
    const poster = await nodes[0]!.connect(posterId);
    const viewer = await nodes[1]!.connect(viewerId);
    const outsider = await nodes[1]!.connect(outsiderId);
    await poster.send(outsiderId, "we chat, but you are not in the audience");

    const posted = await poster.postStatus({ kind: "text", body: "from afar" }, { allow: [viewerId] });
    const notice = await viewer.waitFor<StatusNewFrame>((f: ServerFrame) => f.t === "status.new" && f.id === posted.id);
    assert.equal(notice.poster, posterId);
    const listed = await viewer.listStatuses([posterId]);
    if (Date.now() < posted.expires) assert.deepEqual(listed.posters.map((p) => p.statuses.map((s) => s.body)), [["from afar"]]);
    assert.deepEqual((await outsider.listStatuses()).posters, []);
    await assert.rejects(outsider.viewStatus(posterId, posted.id), (e: unknown) => e instanceof RequestError && e.code === "not_found");

    if (Date.now() < posted.expires) {
      await viewer.viewStatus(posterId, posted.id);
      const viewed = await poster.waitFor<StatusViewedFrame>((f: ServerFrame) => f.t === "status.viewed" && f.id === posted.id);
      assert.equal(viewed.by, viewerId);
      if (Date.now() < posted.expires) assert.equal((await poster.statusViewers(posted.id)).count, 1);
    }

    // Reads never return an expired status, swept or not: checked once, right after expiry.
    await eventually(() => Date.now() > posted.expires, "the status's lifetime passed");
    assert.deepEqual((await viewer.listStatuses([posterId])).posters, []);
    await eventually(async () => (await sweptCount(nodes[0]!)) + (await sweptCount(nodes[1]!)) >= 1, "one node swept it");
    assert.equal(Math.min(await sweptCount(nodes[0]!), await sweptCount(nodes[1]!)), 0, "only the ring's owner of the sweep sweeps");
    await Promise.all([poster.close(), viewer.close(), outsider.close()]);
  });
});
