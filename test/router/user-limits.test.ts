import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CLOSE_CODES, type ErrorFrame, type ServerFrame } from "../../src/protocol/frames.ts";
import { RequestError, RouterClient } from "../../sdk/client.ts";
import { eventually, floodWithPings } from "../support/flood.ts";
import { TestNode, tokenFor } from "../support/node.ts";

// Small enough that a flood from a few connections runs through it within the test, far
// below what the per-connection limit alone would let through.
const USER_RATE = 50;
const USER_BURST = 50;
const PER_CONNECTION = 1000;
const FLOOD = 400;

function isErr(f: ServerFrame): f is ErrorFrame {
  return f.t === "err";
}

describe("limits per user across connections", () => {
  let node: TestNode;
  const open: RouterClient[] = [];
  async function connect(user: string, device: string): Promise<RouterClient> {
    const client = await node.connect(user, { device });
    open.push(client);
    return client;
  }
  before(async () => {
    node = await TestNode.start({
      config: (c) => {
        c.limits.framesPerSecond = PER_CONNECTION;
        c.limits.frameBurst = PER_CONNECTION;
        c.limits.userFramesPerSecond = USER_RATE;
        c.limits.userFrameBurst = USER_BURST;
      },
    });
  });
  after(async () => {
    await Promise.all(open.map((client) => client.close()));
    await node.stop();
  });

  it("hold one frame budget across all of a user's connections", async () => {
    const clients = [];
    for (let i = 0; i < 4; i += 1) clients.push(await connect("flooder", `f${i}`));
    const bystander = await connect("bystander", "phone");

    const { accepted: perConnection, limited, elapsedSeconds } = await floodWithPings(clients, FLOOD);
    assert.deepEqual(perConnection.map((a, i) => a + limited[i]!), [FLOOD, FLOOD, FLOOD, FLOOD], "every ping answered");
    const accepted = perConnection.reduce((sum, a) => sum + a, 0);
    // Alone, each connection's limit would have let all 4 x 400 through; together they get
    // the user's burst plus what refilled meanwhile (and a margin for timing).
    const allowed = USER_BURST + USER_RATE * elapsedSeconds + 20;
    assert.ok(accepted <= allowed, `accepted ${accepted} of ${4 * FLOOD} in ${elapsedSeconds.toFixed(2)} s; the user's budget allows about ${allowed.toFixed(0)}`);
    assert.ok(accepted < FLOOD, `accepted ${accepted}: far below the ${4 * FLOOD} the per-connection limit alone allows`);
    // Shared, not first come first served: every connection got its part of the burst.
    for (const [i, a] of perConnection.entries()) assert.ok(a >= USER_BURST / 4 - 2, `connection ${i} accepted ${a}`);
    for (const client of clients) assert.equal(client.closed, undefined);

    // Another user is not held back by this one's flood.
    assert.equal((await bystander.request({ t: "ping" })).t, "pong");
    // Once the budget refills, each connection is answered again.
    for (const client of clients) assert.equal((await eventually(() => client.request({ t: "ping" }))).t, "pong");
  });

  it("refuses a device over the limit with too_many_devices, and leaves the others be", async () => {
    const devices = [];
    for (let i = 0; i < 8; i += 1) devices.push(await connect("collector", `d${i}`));

    const ninth = await RouterClient.open(node.url);
    ninth.sendRaw({ t: "hello", r: 1, token: await tokenFor("collector"), device: "d8" });
    const refused = await ninth.waitFor<ErrorFrame>(isErr);
    assert.equal(refused.code, "too_many_devices");
    assert.equal(refused.r, 1);
    assert.equal((await ninth.waitForClose()).code, CLOSE_CODES.too_many_devices);
    for (const device of devices) {
      assert.equal((await device.request({ t: "ping" })).t, "pong");
      assert.equal(device.closed, undefined);
    }

    // A device already connected reconnecting replaces its old connection: not a ninth device.
    const again = await connect("collector", "d3");
    assert.equal(again.welcome?.device, "d3");
    assert.equal((await devices[3]!.waitForClose()).code, CLOSE_CODES.replaced);
    for (const device of devices.filter((_, i) => i !== 3)) assert.equal((await device.request({ t: "ping" })).t, "pong");

    // Once a device leaves, a new one fits (its detach reaches the user's actor shortly).
    await devices[0]!.close();
    const newcomer = await eventually(async () => {
      try {
        return await connect("collector", "d8");
      } catch (error) {
        assert.ok(error instanceof RequestError && error.code === "too_many_devices", String(error));
        throw error;
      }
    });
    assert.equal((await newcomer.request({ t: "ping" })).t, "pong");
  });
});
