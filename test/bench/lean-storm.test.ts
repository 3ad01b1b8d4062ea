import assert from "node:assert/strict";
import { createServer, type AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { LeanRouterClient } from "../../bench/load/clients/lean-router-client.ts";
import { BenchRouterClient } from "../../bench/load/clients/router-client.ts";
import type { ClientSpec } from "../../bench/load/protocol.ts";
import { EventHub } from "../../bench/load/recorder.ts";
import { reconnectAll, sendToRecipients } from "../../bench/load/storm.ts";
import { TestNode } from "../support/node.ts";

// The reconnect storm's figure is only the router's if the lean client does the whole
// reconnect: hello, the replayed messages, their acks, `synced`. A client that resolved
// without `synced`, or never acked, would measure something else (or replay forever).

const PENDING = 3;
const recipients: ClientSpec[] = [0, 1, 2].map((i) => ({ user: `storm-r${i}`, index: i + 1 }));

describe("the lean router client in a reconnect storm", () => {
  let node: TestNode;
  before(async () => {
    node = await TestNode.start();
  });
  after(async () => {
    await node.stop();
  });

  const lean = (hub: EventHub, acks = true) => (spec: ClientSpec) =>
    LeanRouterClient.connect(spec, { url: node.url, secret: node.config.secret, localAddress: "127.0.0.1", events: hub, acks, timeoutMs: 5000 });

  it("reconnects, gets its pending messages before synced, acks them so the next hello replays nothing", async () => {
    const hub = new EventHub();
    // Online once, then dropped without a close handshake, as the storm's devices are.
    for (const spec of recipients) (await lean(hub)(spec)).terminate();
    const sender = await BenchRouterClient.connect({ user: "storm-s0", index: 100 }, { url: node.url, secret: node.config.secret, localAddress: "127.0.0.1", events: hub });
    const sent = await sendToRecipients(hub, [sender], { recipients: recipients.map((spec) => spec.user), perRecipient: PENDING, bodyBytes: 64 });
    assert.deepEqual(sent, { sent: 9, acked: 9, errors: {} });

    const { result, clients } = await reconnectAll(hub, recipients, lean(hub), { expectPerClient: PENDING, timeoutMs: 10_000, spreadMs: 0 });
    assert.equal(result.failed, 0, `failed: ${JSON.stringify(result.errors)}`);
    assert.equal(result.retries, 0);
    assert.equal(result.syncedAtNs.length, recipients.length, "every client reported synced");
    assert.equal(result.pendingReceived, recipients.length * PENDING, "every pending message arrived before synced");
    assert.equal(result.incomplete, 0);
    // One sender numbers its messages across recipients, so only duplicates are checked here.
    assert.equal(hub.current.duplicates, 0);

    // Acks go out one turn after the messages; then the devices leave politely.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all(clients.map((client) => client.close()));
    await sender.close();

    // A checking device that does not ack: whatever the router still replays was not acked.
    const check = new EventHub();
    let replayed = -1;
    for (const deadline = Date.now() + 5000; replayed !== 0 && Date.now() < deadline; ) {
      const { result: again, clients: back } = await reconnectAll(check, recipients, lean(check, false), { expectPerClient: 0, timeoutMs: 5000, spreadMs: 0 });
      assert.equal(again.failed, 0);
      replayed = again.pendingReceived;
      await Promise.all(back.map((client) => client.close()));
      if (replayed !== 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(replayed, 0, "the router replays nothing once the lean client has acked");
  });

  it("fails an attempt the router refuses, so the storm's backoff retries it", async () => {
    const hub = new EventHub();
    const spec = { user: "storm-bad", index: 200 };
    await assert.rejects(
      LeanRouterClient.connect(spec, { url: node.url, secret: "not-the-router-secret-0123456789abcdef", localAddress: "127.0.0.1", events: hub, timeoutMs: 5000 }),
      (error: Error) => !/no synced in time/.test(error.message),
    );
  });

  it("fails at once, not at the timeout, when the connection closes before the upgrade", async () => {
    const server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const startedAt = Date.now();
      await assert.rejects(
        LeanRouterClient.connect({ user: "storm-x", index: 300 }, { url: `ws://127.0.0.1:${port}/ws`, secret: node.config.secret, localAddress: "127.0.0.1", events: new EventHub(), timeoutMs: 20_000 }),
        /before the upgrade/,
      );
      assert.ok(Date.now() - startedAt < 5000, `rejected after ${Date.now() - startedAt} ms`);
    } finally {
      server.close();
    }
  });
});
