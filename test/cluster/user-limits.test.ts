import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Ring } from "../../src/cluster/ring.ts";
import { userKey } from "../../src/cluster/routing.ts";
import { CLOSE_CODES, type ErrorFrame } from "../../src/protocol/frames.ts";
import { RouterClient } from "../../sdk/client.ts";
import { ClusterBackend } from "../support/cluster.ts";
import { eventually, floodWithPings } from "../support/flood.ts";
import { TestNode, tokenFor } from "../support/node.ts";

const USER_RATE = 50;
const USER_BURST = 50;
const FLOOD = 400;

/**
 * Three nodes on one NATS, CQL keyspace and Redis. A user's connections on two nodes, with
 * the user's actor on the third: one budget and one device limit for all of them.
 */
describe("limits per user across the nodes of a cluster", () => {
  let backend: ClusterBackend;
  const nodes: TestNode[] = [];
  const open: RouterClient[] = [];
  const ring = Ring.of(["node-0", "node-1", "node-2"]);
  /** A user whose actor lives on node-2, which none of its connections reach. */
  const userOnNode2 = (prefix: string) => Array.from({ length: 200 }, (_, i) => `${prefix}${i}`).find((u) => ring.ownerOf(userKey(u)) === "node-2")!;

  async function connect(node: number, user: string, device: string): Promise<RouterClient> {
    const client = await nodes[node]!.connect(user, { device });
    open.push(client);
    return client;
  }

  before(async () => {
    backend = await ClusterBackend.start(`ul${process.pid}`);
    for (let i = 0; i < 3; i += 1) {
      nodes.push(
        await TestNode.start({
          config: (c) => {
            c.nodeId = `node-${i}`;
            c.storage = backend.storage();
            c.cluster.nats = backend.nats.url;
            c.cluster.subjectPrefix = backend.prefix;
            c.cluster.heartbeatMs = 200;
            c.limits.framesPerSecond = 1000;
            c.limits.frameBurst = 1000;
            c.limits.userFramesPerSecond = USER_RATE;
            c.limits.userFrameBurst = USER_BURST;
          },
        }),
      );
    }
    await Promise.all(nodes.map((node) => node.node.cluster!.whenMembers(3)));
  });
  after(async () => {
    await Promise.all(open.map((client) => client.close()));
    for (const node of nodes) await node.stop();
    await backend.stop();
  });

  it("share one frame budget among connections on different nodes", async () => {
    const user = userOnNode2("spread-flooder");
    const clients = [await connect(0, user, "a"), await connect(1, user, "b"), await connect(0, user, "c"), await connect(1, user, "d")];

    const { accepted: perConnection, limited, elapsedSeconds } = await floodWithPings(clients, FLOOD);
    assert.deepEqual(perConnection.map((a, i) => a + limited[i]!), [FLOOD, FLOOD, FLOOD, FLOOD], "every ping answered");
    const accepted = perConnection.reduce((sum, a) => sum + a, 0);
    // Shares of the last attach may reach the other node a moment after the flood started:
    // the margin covers that as well as timing.
    const allowed = USER_BURST + USER_RATE * elapsedSeconds + 25;
    assert.ok(accepted <= allowed, `accepted ${accepted} of ${4 * FLOOD} in ${elapsedSeconds.toFixed(2)} s; the user's budget allows about ${allowed.toFixed(0)}`);
    assert.ok(accepted < FLOOD, `accepted ${accepted}: far below the ${4 * FLOOD} per-connection limits alone allow`);
    // Each connection got its share from the actor on the other node: more than the
    // conservative default a connection starts with (an eighth of the budget).
    for (const [i, a] of perConnection.entries()) assert.ok(a >= USER_BURST / 4 - 2, `connection ${i} accepted ${a}`);
    for (const client of clients) assert.equal((await eventually(() => client.request({ t: "ping" }))).t, "pong");
  });

  it("refuses a device over the limit, wherever the user's devices connect", async () => {
    const user = userOnNode2("spread-collector");
    const devices = [];
    for (let i = 0; i < 8; i += 1) devices.push(await connect(i % 2, user, `d${i}`));

    const ninth = await RouterClient.open(nodes[0]!.url);
    ninth.sendRaw({ t: "hello", r: 1, token: await tokenFor(user), device: "d8" });
    const refused = await ninth.waitFor<ErrorFrame>((f) => f.t === "err");
    assert.equal(refused.code, "too_many_devices");
    assert.equal((await ninth.waitForClose()).code, CLOSE_CODES.too_many_devices);
    for (const device of devices) assert.equal((await device.request({ t: "ping" })).t, "pong");
    // The same device through the other node replaces its connection: not a ninth device.
    const again = await connect(1, user, "d0");
    assert.equal((await again.request({ t: "ping" })).t, "pong");
    assert.equal((await devices[0]!.waitForClose()).code, CLOSE_CODES.replaced);
  });
});
