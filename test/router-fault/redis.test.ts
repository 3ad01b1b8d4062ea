import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { directChatId, type PresenceFrame } from "../../src/protocol/frames.ts";
import { RedisKeys } from "../../src/storage/redis/keys.ts";
import type { RouterClient } from "../../sdk/client.ts";
import { captureLogs, clusterStorage, dropKeyspace, type CapturedLogs } from "../support/backend.ts";
import { testCqlContactPoint } from "../support/cassandra.ts";
import { TestNode } from "../support/node.ts";
import { startRedisServer, type RedisServer } from "../support/redis.ts";

const UNREACHABLE = "redis unreachable: presence degraded, messaging unaffected";
const REACHABLE = "redis reachable again";

async function health(node: TestNode): Promise<{ code: number; body: { status: string; reasons?: string[]; redis?: string } }> {
  const response = await fetch(`${node.httpUrl}/healthz`);
  return { code: response.status, body: (await response.json()) as { status: string; reasons?: string[]; redis?: string } };
}

async function sendAll(client: RouterClient, to: string, from: number, count: number): Promise<number[]> {
  const answers = await Promise.all(Array.from({ length: count }, (_, i) => client.send(to, `m${from + i}`, { cid: `m${from + i}` })));
  return answers.map((answer) => answer.seq);
}

function lastSeenOf(client: RouterClient, user: string): Promise<PresenceFrame> {
  return client.waitFor<PresenceFrame>((f) => f.t === "presence" && f.user === user && !f.online && f.last_seen !== undefined);
}

/** A node on CQL and a Redis of its own, which the test stops and starts under traffic. */
describe("a cluster node when Redis goes away mid-traffic", () => {
  let redis: RedisServer;
  let logs: CapturedLogs;
  let node: TestNode;
  let keys: RedisKeys;
  before(async () => {
    redis = await startRedisServer();
    logs = captureLogs();
    node = await TestNode.start({
      overrides: { logger: logs.logger },
      config: (config) => {
        config.storage = { ...clusterStorage(config.dataDir, { scylla: testCqlContactPoint(), redis: redis.url }), redisCommandTimeoutMs: 500 };
      },
    });
    keys = new RedisKeys(node.config.storage.redisPrefix);
  });
  after(async () => {
    await node.stop();
    await dropKeyspace(node.config.storage.keyspace);
    await redis.stop();
  });

  it("keeps messaging, reports degraded in /healthz and metrics, and recovers presence", async () => {
    const chat = directChatId("alice", "bob");
    const alice = await node.connect("alice");
    const bob = await node.connect("bob");
    const carol = await node.connect("carol");
    const watcher = await node.connect("walt");
    watcher.sendRaw({ t: "watch", users: ["carol", "frank"] });
    await carol.close();
    const carolLeft = await lastSeenOf(watcher, "carol");
    const before = await sendAll(alice, "bob", 0, 20);
    assert.deepEqual((await health(node)).body.status, "ok");
    assert.equal((await node.node.metrics.value("router_redis_up")), 1);

    await redis.kill();
    await logs.waitFor((line) => line.msg === UNREACHABLE);
    const degraded = await health(node);
    assert.equal(degraded.body.status, "degraded");
    // Liveness: the node serves, degraded; a restart would not bring Redis back.
    assert.equal(degraded.code, 200);
    // Readiness: messages flow without Redis, so the node keeps taking clients.
    assert.equal((await fetch(`${node.httpUrl}/readyz`)).status, 200);
    assert.equal(degraded.body.redis, "down");
    assert.match(degraded.body.reasons?.[0] ?? "", /redis unreachable since .*messaging unaffected/);
    assert.equal((await node.node.metrics.value("router_redis_up")), 0);

    // Messages flow as before: nothing on their path waits on Redis.
    const during = await sendAll(alice, "bob", 20, 50);
    assert.deepEqual([...before, ...during], Array.from({ length: 70 }, (_, i) => i + 1));
    const received = await bob.waitForMessages(70, chat);
    assert.deepEqual(received.map((m) => m.body), Array.from({ length: 70 }, (_, i) => `m${i}`));
    // Presence degrades to the durable last seen; someone going offline now is still recorded.
    const frank = await node.connect("frank");
    await frank.close();
    const frankLeft = await lastSeenOf(watcher, "frank");
    const late = await node.connect("lena");
    late.sendRaw({ t: "watch", users: ["carol"] });
    assert.equal((await lastSeenOf(late, "carol")).last_seen, carolLeft.last_seen);
    assert.equal(logs.count(UNREACHABLE), 1, "one line per outage, however much traffic");

    await redis.restart();
    await logs.waitFor((line) => line.msg === REACHABLE);
    await logs.waitFor((line) => line.msg === "last seen replayed to redis");
    const healthy = await health(node);
    assert.deepEqual([healthy.code, healthy.body.status, healthy.body.redis], [200, "ok", "up"]);
    assert.equal((await node.node.metrics.value("router_redis_up")), 1);
    const inspect = new Redis(redis.url);
    try {
      assert.equal(await inspect.get(keys.lastSeen("frank")), String(frankLeft.last_seen), "the outage's last seen reached Redis");
    } finally {
      inspect.disconnect();
    }
    const after = await sendAll(alice, "bob", 70, 10);
    assert.deepEqual(after, Array.from({ length: 10 }, (_, i) => 71 + i));
    assert.equal(logs.count(REACHABLE), 1);
    await Promise.all([alice.close(), bob.close(), watcher.close(), late.close()]);
  });
});
