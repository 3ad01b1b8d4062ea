import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { RedisKeys } from "../../src/storage/redis/keys.ts";
import { openRedisServices, type RedisServices } from "../../src/storage/redis/redis-services.ts";
import { StorageUnavailableError } from "../../src/storage/errors.ts";
import { captureLogs, MemoryLastSeen, type CapturedLogs } from "../support/backend.ts";
import { startRedisServer, type RedisServer } from "../support/redis.ts";

const UNREACHABLE = "redis unreachable: presence degraded, messaging unaffected";
const REACHABLE = "redis reachable again";

/** How long any call may take while Redis is down: nothing waits for it. */
const FAST_MS = 250;

async function timed<T>(call: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const startedAt = performance.now();
  const value = await call();
  return { value, ms: performance.now() - startedAt };
}

describe("redis services when Redis goes away and comes back", () => {
  let server: RedisServer;
  let services: RedisServices;
  let logs: CapturedLogs;
  const durable = new MemoryLastSeen();
  const keys = new RedisKeys(`fault${process.pid}:`);

  before(async () => {
    server = await startRedisServer();
    logs = captureLogs();
    services = await openRedisServices({
      url: server.url,
      keyPrefix: keys.prefix,
      durableLastSeen: durable,
      logger: logs.logger,
      commandTimeoutMs: 500,
      probeIntervalMs: 100,
    });
  });
  after(async () => {
    await services.close();
    await server.stop();
  });

  it("degrades presence without failing or waiting, says so once, and recovers it", async () => {
    await services.presence.markOnline("kim", "node-a", 600);
    await services.presence.setLastSeen("lou", 1_000);
    assert.deepEqual(services.health(), { up: true });

    await server.kill();
    await logs.waitFor((line) => line.msg === UNREACHABLE);
    const health = services.health();
    assert.equal(health.up, false);

    // Everything presence does still answers, at once, from what is left.
    const write = await timed(() => services.presence.setLastSeen("lou", 2_000));
    assert.ok(write.ms < FAST_MS, `setLastSeen took ${write.ms} ms`);
    assert.equal(durable.values.get("lou"), 2_000, "the durable write happened");
    const read = await timed(() => services.presence.lastSeen(["lou"]));
    assert.deepEqual(read.value, new Map([["lou", 2_000]]));
    assert.ok(read.ms < FAST_MS);
    const online = await timed(() => services.presence.online(["kim", "max"]));
    assert.deepEqual(online.value, new Map([["kim", "node-a"]]), "this node still knows its own users");
    await services.presence.markOnline("max", "node-a", 600);
    // Rate limits refuse at once; their callers choose what to do.
    const hit = await timed(() => services.rateLimits.hit("k", 1, 1_000).catch((error: unknown) => error));
    assert.ok(hit.value instanceof StorageUnavailableError);
    assert.ok(hit.ms < FAST_MS);

    // Every failed call above was one more sign of the outage; it was logged once all the same.
    assert.equal(logs.count(UNREACHABLE), 1);

    // Back, empty (no persistence): the heartbeat restores who is online, and the last seen
    // written while Redis was away is replayed to it.
    await server.restart();
    await logs.waitFor((line) => line.msg === REACHABLE);
    await logs.waitFor((line) => line.msg === "last seen replayed to redis");
    assert.deepEqual(services.health(), { up: true });
    const inspect = new Redis(server.url);
    try {
      assert.equal(await inspect.get(keys.lastSeen("lou")), "2000");
      assert.equal(await inspect.get(keys.online("max")), "node-a", "marked online during the outage, written on return");
      assert.equal(await inspect.get(keys.online("kim")), "node-a", "lost with the restart, written again");
    } finally {
      inspect.disconnect();
    }
    assert.deepEqual(await services.presence.online(["kim", "max"]), new Map([["kim", "node-a"], ["max", "node-a"]]));
    assert.equal(logs.count(REACHABLE), 1);
    assert.equal((await services.rateLimits.hit("k", 1, 60_000)).allowed, true);
  });
});
