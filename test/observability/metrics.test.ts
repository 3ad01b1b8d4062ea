import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { directChatId } from "../../src/protocol/frames.ts";
import { TestNode } from "../support/node.ts";
import { scrape, total, type Exposition } from "../support/scrape.ts";

/** Every name /metrics exported before prom-client: dashboards and alerts out there use them. */
const LEGACY_NAMES = [
  "router_frames_in_total",
  "router_frames_out_total",
  "router_frames_rejected_total",
  "router_messages_stored_total",
  "router_actor_restarts_total",
  "router_actor_escalations_total",
  "router_dead_letters_total",
  "router_ephemeral_dropped_total",
  "router_slow_consumers_total",
  "router_connections_opened_total",
  "router_account_requests_total",
  "router_write_conflicts_total",
  "router_push_total",
  "router_status_swept_total",
  "router_connections",
  "router_calls",
  "router_user_actors",
  "router_conversation_actors",
];

const PROCESS_NAMES = [
  "process_cpu_seconds_total",
  "process_resident_memory_bytes",
  "nodejs_heap_size_used_bytes",
  "nodejs_eventloop_lag_p99_seconds",
  "router_event_loop_utilization",
];

/** prom-client names a counter's family without `_total`; the samples carry it. */
function declares(exposition: Exposition, name: string): boolean {
  return exposition.types.has(name) || exposition.types.has(name.replace(/_total$/, ""));
}

describe("/metrics", () => {
  let node: TestNode;
  before(async () => {
    node = await TestNode.start();
  });
  after(async () => {
    await node.stop();
  });

  it("still exports every metric it exported before, and the process' own", async () => {
    const exposition = await scrape(node.httpUrl);
    for (const name of [...LEGACY_NAMES, ...PROCESS_NAMES]) assert.ok(declares(exposition, name), `${name} is exported`);
    if (node.node.stores.backend !== "lmdb") assert.ok(declares(exposition, "router_redis_up"), "router_redis_up is exported with a Redis");
    assert.ok(total(exposition, "process_resident_memory_bytes") > 0);
    const utilisation = total(exposition, "router_event_loop_utilization");
    assert.ok(utilisation >= 0 && utilisation <= 1, `utilisation ${utilisation} is a share`);
  });

  it("times a send until durable, a delivery, a sync and the store operations, with no user or chat in a label", async () => {
    const sender = await node.connect("mt-sender-7f3a");
    const receiver = await node.connect("mt-receiver-9c1e");
    const chat = directChatId("mt-sender-7f3a", "mt-receiver-9c1e");
    const before = await scrape(node.httpUrl);
    for (let i = 0; i < 3; i += 1) await sender.send("mt-receiver-9c1e", `hello ${i}`);
    await receiver.waitForMessages(3, chat);
    // The delivery is observed as the frame leaves; one more round trip and it has.
    await receiver.request({ t: "ping" });
    const after = await scrape(node.httpUrl);
    const grew = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);

    assert.equal(grew("router_send_to_durable_seconds_count"), 3);
    assert.equal(grew("router_durable_to_delivered_seconds_count"), 3);
    assert.ok(total(after, "router_hello_to_synced_seconds_count") >= 2, "both hellos were timed to synced");
    const backend = node.node.stores.backend;
    assert.ok(grew("router_store_operation_seconds_count", { backend, store: "messages", operation: "append" }) >= 1, "message appends are timed");
    assert.equal(grew("router_messages_stored_total"), 3);
    // Histograms' buckets add up: a send answered within 30 s lands in every bucket from there on.
    assert.equal(total(after, "router_send_to_durable_seconds_bucket", { le: "+Inf" }), total(after, "router_send_to_durable_seconds_count"));

    for (const sample of after.samples) {
      for (const value of Object.values(sample.labels)) {
        assert.ok(!/mt-sender|mt-receiver|d:/.test(value), `${sample.name} has a bounded label, not ${value}`);
      }
    }
    await Promise.all([sender.close(), receiver.close()]);
  });

  it("counts refused frames by code", async () => {
    const client = await node.connect("mt-refused");
    const before = await scrape(node.httpUrl);
    await assert.rejects(client.request({ t: "no.such.frame", r: 900 }));
    const after = await scrape(node.httpUrl);
    assert.ok(total(after, "router_frames_rejected_total") > total(before, "router_frames_rejected_total"));
    await client.close();
  });
});
