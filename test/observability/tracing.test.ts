import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connect } from "nats";
import { Ring } from "../../src/cluster/ring.ts";
import { chatKey } from "../../src/cluster/routing.ts";
import { directChatId } from "../../src/protocol/frames.ts";
import { startNatsServer, type NatsServer } from "../support/nats.ts";
import { TestNode } from "../support/node.ts";
import { OtlpReceiver, type ReceivedSpan } from "../support/otlp.ts";

/**
 * Two nodes on one NATS, each exporting spans to a local OTLP/HTTP receiver: a send reaching
 * a chat whose actor lives on the other node is one trace across both.
 */
describe("tracing over OTLP/HTTP, across nodes", () => {
  let nats: NatsServer;
  let receiver: OtlpReceiver;
  const nodes: TestNode[] = [];
  const ids = ["trace-a", "trace-b"];

  before(async () => {
    [nats, receiver] = await Promise.all([startNatsServer(), OtlpReceiver.start()]);
    for (const nodeId of ids) {
      nodes.push(
        await TestNode.start({
          config: (c) => {
            c.nodeId = nodeId;
            c.cluster.nats = nats.url;
            c.cluster.subjectPrefix = `trace${process.pid}`;
            c.cluster.heartbeatMs = 200;
            // Each node on its own store: this test follows a trace, not a message's durability.
            c.cluster.unsafeLocalStore = true;
            c.tracing.otelEndpoint = receiver.endpoint;
          },
        }),
      );
    }
    await Promise.all(nodes.map((node) => node.node.cluster!.whenMembers(2)));
  });
  after(async () => {
    for (const node of nodes) await node.stop();
    await Promise.all([receiver.stop(), nats.stop()]);
  });

  it("links the request's span on the socket's node to the actor and store spans on the chat's node", async () => {
    const ring = Ring.of(ids);
    // A chat the ring gives to the node the sender is not connected to.
    let peer = 0;
    while (ring.ownerOf(chatKey(directChatId("tr-sender", `tr-peer-${peer}`))) !== "trace-b") peer += 1;
    const sender = await nodes[0]!.connect("tr-sender");
    const sent = await sender.send(`tr-peer-${peer}`, "traced");
    assert.equal(sent.seq, 1);

    let request: ReceivedSpan | undefined;
    let actor: ReceivedSpan | undefined;
    let store: ReceivedSpan | undefined;
    await receiver.waitFor((spans) => {
      request = spans.find((span) => span.node === "trace-a" && span.name === "frame send");
      if (!request) return false;
      const trace = spans.filter((span) => span.traceId === request!.traceId);
      actor = trace.find((span) => span.node === "trace-b" && span.name === "conversations send");
      store = trace.find((span) => span.node === "trace-b" && span.name === "store messages.append");
      return actor !== undefined && store !== undefined;
    }, "the send's spans from both nodes");

    assert.equal(receiver.refused.length, 0, receiver.refused.join("; "));
    assert.equal(request!.parentSpanId, "", "the request frame starts the trace");
    assert.equal(request!.attributes["router.answer"], "sent");
    assert.equal(actor!.parentSpanId, request!.spanId, "the chat's actor on the other node is a child of the request");
    assert.equal(store!.parentSpanId, actor!.spanId, "the message's write is a child of the chat actor's span");
    assert.match(request!.traceId, /^[0-9a-f]{32}$/);
    await sender.close();
  });
});

describe("tracing off (the default)", () => {
  let nats: NatsServer;
  let node: TestNode;
  const prefix = `untraced${process.pid}`;
  before(async () => {
    nats = await startNatsServer();
    node = await TestNode.start({
      config: (c) => {
        c.cluster.nats = nats.url;
        c.cluster.subjectPrefix = prefix;
        c.cluster.unsafeLocalStore = true;
      },
    });
    await node.node.cluster!.whenMembers(1);
  });
  after(async () => {
    await node.stop();
    await nats.stop();
  });

  it("sends envelopes between nodes with no trace context, only the dispatch timestamp", async () => {
    const watcher = await connect({ servers: nats.url });
    try {
      const subscription = watcher.subscribe(`${prefix}.all`, { max: 1, timeout: 60_000 });
      await watcher.flush();
      // A user coming online is announced to every node.
      const client = await node.connect("untraced-user");
      for await (const message of subscription) {
        assert.ok(Number(message.headers?.get("Router-Queued-At")) > 0, "the batch says when it was queued");
        assert.equal(message.headers?.get("traceparent") ?? "", "", "no trace context without ROUTER_OTEL_ENDPOINT");
      }
      await client.close();
    } finally {
      await watcher.close();
    }
  });
});
