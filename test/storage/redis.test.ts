import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import pino from "pino";
import { defaultConfig } from "../../src/config.ts";
import { openBackend } from "../../src/storage/open-stores.ts";
import { RedisConnection } from "../../src/storage/redis/connection.ts";
import { RedisKeys } from "../../src/storage/redis/keys.ts";
import { openRedisServices, RedisConfigError, type RedisServices } from "../../src/storage/redis/redis-services.ts";
import type { PresenceStore } from "../../src/storage/presence.ts";
import type { Stores } from "../../src/storage/stores.ts";
import { dropKeyspace, MemoryLastSeen, TEST_DATA_CENTER } from "../support/backend.ts";
import { testCqlContactPoint } from "../support/cassandra.ts";
import { startRedisServer, type RedisServer } from "../support/redis.ts";
import { extendedStoreContract, storeContract } from "./contract.ts";
import { RedisRevocationStore } from "../../src/storage/redis/revocations.ts";
import { revocationContract } from "./revocation-contract.ts";

const silent = pino({ level: "silent" });
let prefixes = 0;
function freshPrefix(): string {
  prefixes += 1;
  return `t${process.pid}x${prefixes}:`;
}

describe("redis services", () => {
  let server: RedisServer;
  let inspect: Redis;
  before(async () => {
    server = await startRedisServer();
    inspect = new Redis(server.url);
  });
  after(async () => {
    inspect.disconnect();
    await server.stop();
  });

  async function open(durable: PresenceStore = new MemoryLastSeen()): Promise<{ services: RedisServices; keys: RedisKeys }> {
    const keyPrefix = freshPrefix();
    const services = await openRedisServices({ url: server.url, keyPrefix, durableLastSeen: durable, logger: silent });
    return { services, keys: new RedisKeys(keyPrefix) };
  }

  describe("last seen", () => {
    it("writes through to the durable store and to Redis, keeping the latest", async () => {
      const durable = new MemoryLastSeen();
      const { services, keys } = await open(durable);
      try {
        await services.presence.setLastSeen("ann", 2_000);
        await services.presence.setLastSeen("ann", 1_000);
        assert.equal(durable.values.get("ann"), 2_000);
        assert.equal(await inspect.get(keys.lastSeen("ann")), "2000");
        assert.deepEqual(await services.presence.lastSeen(["ann", "nobody"]), new Map([["ann", 2_000]]));
      } finally {
        await services.close();
      }
    });

    it("reads what Redis lacks from the durable store and copies it back", async () => {
      const durable = new MemoryLastSeen();
      durable.values.set("ben", 7_000);
      const { services, keys } = await open(durable);
      try {
        assert.deepEqual(await services.presence.lastSeen(["ben"]), new Map([["ben", 7_000]]));
        // The copy is written in the background; reading it back goes through the same connection.
        assert.deepEqual(await services.presence.lastSeen(["ben"]), new Map([["ben", 7_000]]));
        assert.equal(await inspect.get(keys.lastSeen("ben")), "7000");
        assert.ok((await inspect.pttl(keys.lastSeen("ben"))) > 0, "the copy expires");
      } finally {
        await services.close();
      }
    });
  });

  describe("online presence", () => {
    it("keeps a user online while the node's heartbeat refreshes the entry, and not after", async () => {
      const { services } = await open();
      const ttlMs = 300;
      try {
        await services.presence.markOnline("cat", "node-a", ttlMs);
        assert.deepEqual(await services.presence.online(["cat", "dan"]), new Map([["cat", "node-a"]]));
        // Three TTLs later the entry is still there: the heartbeat re-wrote it.
        await waitForRedisTime(3 * ttlMs);
        assert.deepEqual(await services.presence.online(["cat"]), new Map([["cat", "node-a"]]));
      } finally {
        await services.close();
      }
      const { services: other } = await open();
      try {
        assert.equal((await other.presence.online(["cat"])).size, 0, "another prefix sees nothing");
      } finally {
        await other.close();
      }
    });

    it("lets an entry expire once its node stops beating", async () => {
      const keyPrefix = freshPrefix();
      const first = await openRedisServices({ url: server.url, keyPrefix, durableLastSeen: new MemoryLastSeen(), logger: silent });
      await first.presence.markOnline("eve", "node-a", 200);
      await first.close();
      const second = await openRedisServices({ url: server.url, keyPrefix, durableLastSeen: new MemoryLastSeen(), logger: silent });
      try {
        assert.equal((await second.presence.online(["eve"])).get("eve"), "node-a");
        await waitForRedisTime(400);
        assert.equal((await second.presence.online(["eve"])).size, 0);
      } finally {
        await second.close();
      }
    });

    it("takes a user offline only for the node that holds them", async () => {
      const { services } = await open();
      try {
        await services.presence.markOnline("fay", "node-a", 10_000);
        await services.presence.markOffline("fay", "node-b");
        assert.equal((await services.presence.online(["fay"])).get("fay"), "node-a");
        await services.presence.markOffline("fay", "node-a");
        assert.equal((await services.presence.online(["fay"])).size, 0);
      } finally {
        await services.close();
      }
    });
  });

  revocationContract("redis", async () => {
    const connection = new RedisConnection({ url: server.url, logger: silent });
    await connection.start();
    return new RedisRevocationStore(connection, new RedisKeys(freshPrefix()), () => connection.close());
  });

  describe("rate limits", () => {
    it("counts events in fixed windows", async () => {
      const { services } = await open();
      try {
        const windowMs = 60_000;
        const decisions = [];
        for (let i = 0; i < 4; i += 1) decisions.push(await services.rateLimits.hit("user:gus", 3, windowMs));
        assert.deepEqual(decisions.map((d) => d.allowed), [true, true, true, false]);
        assert.deepEqual(decisions.map((d) => d.count), [1, 2, 3, 4]);
        assert.ok(decisions.every((d) => d.resetInMs > 0 && d.resetInMs <= windowMs));
        assert.equal((await services.rateLimits.hit("user:hal", 3, windowMs)).count, 1, "keys count apart");
      } finally {
        await services.close();
      }
    });

    it("starts over in the next window", async () => {
      const { services } = await open();
      try {
        const windowMs = 200;
        // Start right after a window boundary so the two hits share a window.
        await waitForRedisTime(windowMs - (Date.now() % windowMs) + 5);
        await services.rateLimits.hit("user:ivy", 1, windowMs);
        assert.equal((await services.rateLimits.hit("user:ivy", 1, windowMs)).allowed, false);
        await waitForRedisTime(windowMs);
        assert.equal((await services.rateLimits.hit("user:ivy", 1, windowMs)).allowed, true);
      } finally {
        await services.close();
      }
    });
  });

  it("refuses a URL that can never work, at start", async () => {
    await assert.rejects(
      openRedisServices({ url: "http://127.0.0.1:6379", keyPrefix: "x:", durableLastSeen: new MemoryLastSeen(), logger: silent }),
      RedisConfigError,
    );
    assert.throws(() => new RedisConnection({ url: "not a url", logger: silent }), RedisConfigError);
  });
});

/**
 * Waits until Redis' own clock has moved on by `ms`: TTLs and windows are measured there.
 * A timer is the thing under test here (expiry), not a stand-in for an event.
 */
function waitForRedisTime(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe("cluster stores (CQL + Redis)", () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    await server.stop();
  });

  let keyspaces = 0;
  async function openCluster(): Promise<Stores> {
    keyspaces += 1;
    const keyspace = `router_redis_${process.pid}_${keyspaces}`;
    const config = defaultConfig();
    config.storage = {
      ...config.storage,
      scylla: testCqlContactPoint(),
      redis: server.url,
      keyspace,
      localDc: TEST_DATA_CENTER,
      replication: 1,
      migrateOnStart: true,
      redisPrefix: `${keyspace}:`,
    };
    const { stores } = await openBackend(config, silent);
    assert.equal(stores.backend, "cql+redis");
    return {
      ...stores,
      close: async () => {
        await stores.close();
        await dropKeyspace(keyspace);
      },
    };
  }

  storeContract("cql+redis", openCluster);
  extendedStoreContract("cql+redis", openCluster);
});
