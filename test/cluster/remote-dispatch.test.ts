import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connect, type NatsConnection } from "nats";
import pino from "pino";
import { RemoteDispatch, type Envelope } from "../../src/cluster/remote-dispatch.ts";
import { startNatsServer, type NatsServer } from "../support/nats.ts";

const silent = pino({ level: "silent" });

function presence(n: number, padding = ""): Envelope {
  return { to: "presence", user: `u${n}${padding}`, online: n % 2 === 0, at: n };
}

describe("remote dispatch between two nodes", () => {
  let nats: NatsServer;
  const connections: NatsConnection[] = [];
  let sender: RemoteDispatch;
  const received: Array<{ envelope: Envelope; from: string }> = [];
  let natsMessages = 0;
  const prefix = `rd${process.pid}`;

  before(async () => {
    nats = await startNatsServer();
    for (let i = 0; i < 3; i += 1) connections.push(await connect({ servers: nats.url }));
    sender = new RemoteDispatch(connections[0]!, "node-a", prefix, silent);
    const receiver = new RemoteDispatch(connections[1]!, "node-b", prefix, silent);
    receiver.start((envelope, from) => received.push({ envelope, from }));
    // What crosses the wire, counted by a third connection on the receiver's subject.
    connections[2]!.subscribe(`${prefix}.node.node-b`, { callback: () => (natsMessages += 1) });
    await Promise.all(connections.map((connection) => connection.flush()));
  });
  after(async () => {
    await Promise.all(connections.map((connection) => connection.close()));
    await nats.stop();
  });

  async function until(count: number): Promise<void> {
    for (let waited = 0; received.length < count; waited += 10) {
      assert.ok(waited < 10_000, `${received.length} of ${count} envelopes arrived`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await connections[2]!.flush();
  }

  it("sends what one turn of the event loop produced as one NATS message, in order", async () => {
    received.length = 0;
    natsMessages = 0;
    for (let n = 0; n < 2000; n += 1) sender.send("node-b", presence(n));
    await until(2000);
    assert.deepEqual(received.map((r) => r.envelope), Array.from({ length: 2000 }, (_, n) => presence(n)));
    assert.ok(received.every((r) => r.from === "node-a"));
    assert.equal(natsMessages, 1);
  });

  it("splits a large turn into messages NATS accepts, keeping the order", async () => {
    received.length = 0;
    natsMessages = 0;
    const padding = "x".repeat(1000);
    for (let n = 0; n < 1500; n += 1) sender.send("node-b", presence(n, padding));
    await until(1500);
    assert.deepEqual(received.map((r) => r.envelope), Array.from({ length: 1500 }, (_, n) => presence(n, padding)));
    assert.ok(natsMessages >= 6 && natsMessages <= 8, `about 1.5 MB in 256 KiB batches: ${natsMessages} messages`);
  });

  it("drops what is not a batch of envelopes and keeps serving", async () => {
    received.length = 0;
    connections[0]!.publish(`${prefix}.node.node-b`, new TextEncoder().encode("not msgpack at all"));
    connections[0]!.publish(`${prefix}.node.node-b`, Uint8Array.of(0x81, 0xa1, 0x78, 0x01));
    sender.send("node-b", presence(7));
    await until(1);
    assert.deepEqual(received.map((r) => r.envelope), [presence(7)]);
  });
});
