import { join } from "node:path";
import { ConfigError, storageBackend, type NodeConfig } from "../config.ts";
import type { Logger } from "../util/logger.ts";
import type { Replication } from "./cql/cql-stores.ts";
import { openLmdbStores } from "./lmdb/lmdb-stores.ts";
import type { RevocationStore } from "./revocations.ts";
import type { OnlinePresence } from "./presence.ts";
import type { RateLimits } from "./rate-limits.ts";
import type { Stores } from "./stores.ts";

export interface BackendHealth {
  status: "ok" | "degraded";
  /** Why it is degraded, for humans: one line per dependency that is down. */
  reasons: string[];
  /** Present when the backend has a Redis. */
  redis?: "up" | "down";
}

/** The stores a node runs on, and what else its backend offers. */
export interface Backend {
  /** `close()` closes every connection the backend opened. */
  readonly stores: Stores;
  readonly online: OnlinePresence;
  /** Cluster backend only: rate limits shared by the nodes (Redis). */
  readonly rateLimits?: RateLimits;
  /** Cluster backend only: token revocations every node polls (Redis); closed with the backend. */
  readonly revocations?: RevocationStore;
  health(): BackendHealth;
  /** 1 while Redis answers, 0 while not; undefined without a Redis. */
  redisUp(): number | undefined;
}

/**
 * Opens the configured backend: LMDB under dataDir, or CQL (messages, groups, watermarks,
 * durable last seen) with Redis (presence, last-seen copy, rate limits).
 * `override` (tests) is used as the stores as they are.
 *
 * Rejects with ConfigError for a configuration that cannot work (unknown backend, bad Redis
 * URL, unmigrated keyspace, wrong data centre), and with StorageUnavailableError when the CQL
 * cluster cannot be reached. An unreachable Redis is not fatal: the node starts degraded.
 */
export async function openBackend(config: NodeConfig, logger: Logger, override?: Stores): Promise<Backend> {
  if (override) return embedded(override);
  const backend = storageBackend(config.storage);
  if (backend === "lmdb") return embedded(openLmdbStores({ path: join(config.dataDir, "lmdb") }));
  return openCluster(config, logger);
}

// The cluster backend's drivers (cassandra-driver, ioredis) load only when it is configured:
// an embedded node, the CLI and LMDB-only tests do not pay for them at start.
const loadCql = () => import("./cql/cql-stores.ts");
const loadRedis = () => import("./redis/redis-services.ts");

async function openCluster(config: NodeConfig, logger: Logger): Promise<Backend> {
  const { openCqlStores, SchemaNotReadyError, CqlConfigurationError } = await loadCql();
  const { openRedisServices, RedisConfigError } = await loadRedis();
  const storage = config.storage;
  const contactPoints = storage.scylla.split(",").map((point) => point.trim()).filter(Boolean);
  let cql: Stores;
  try {
    cql = await openCqlStores({
      contactPoints,
      localDataCenter: storage.localDc,
      keyspace: storage.keyspace,
      migrate: storage.migrateOnStart,
      ...(storage.replication > 0
        ? { replication: { class: "NetworkTopologyStrategy", [storage.localDc]: storage.replication } }
        : {}),
      requestTimeoutMs: storage.cqlRequestTimeoutMs,
      logger,
    });
  } catch (error) {
    if (error instanceof SchemaNotReadyError) {
      throw new ConfigError(`${error.message} (or set ROUTER_CQL_MIGRATE_ON_START=true)`, { cause: error });
    }
    if (error instanceof CqlConfigurationError) {
      throw new ConfigError(error.message, { cause: error });
    }
    throw error;
  }
  let redis;
  try {
    redis = await openRedisServices({
      url: storage.redis,
      keyPrefix: storage.redisPrefix,
      durableLastSeen: cql.presence,
      commandTimeoutMs: storage.redisCommandTimeoutMs,
      logger,
    });
  } catch (error) {
    await cql.close();
    if (error instanceof RedisConfigError) throw new ConfigError(error.message, { cause: error });
    throw error;
  }
  const stores: Stores = {
    ...cql,
    backend: "cql+redis",
    presence: redis.presence,
    close: async () => {
      await redis.close();
      await cql.close();
    },
  };
  return {
    stores,
    online: redis.presence,
    rateLimits: redis.rateLimits,
    revocations: redis.revocations,
    health: () => {
      const status = redis.health();
      if (status.up) return { status: "ok", reasons: [], redis: "up" };
      const since = new Date(status.since).toISOString();
      return {
        status: "degraded",
        reasons: [`redis unreachable since ${since} (${status.reason}): presence and last-seen lookups degraded, messaging unaffected`],
        redis: "down",
      };
    },
    redisUp: () => (redis.health().up ? 1 : 0),
  };
}

/**
 * `router db migrate`: creates the configured keyspace if missing (with `storage.replication`
 * replicas in the local data centre, or the default) and applies the migrations it lacks.
 * Returns the versions applied now, none when it was up to date.
 */
export async function migrateKeyspace(config: NodeConfig, logger: Logger): Promise<number[]> {
  const { connectCql, CqlConfigurationError, defaultReplication, migrate } = await loadCql();
  const storage = config.storage;
  const contactPoints = storage.scylla.split(",").map((point) => point.trim()).filter(Boolean);
  if (contactPoints.length === 0) throw new ConfigError("router db migrate needs --scylla HOSTS (ROUTER_SCYLLA)");
  let client;
  try {
    client = await connectCql({ contactPoints, localDataCenter: storage.localDc, requestTimeoutMs: storage.cqlRequestTimeoutMs, logger });
  } catch (error) {
    if (error instanceof CqlConfigurationError) throw new ConfigError(error.message, { cause: error });
    throw error;
  }
  try {
    const replication: Replication =
      storage.replication > 0
        ? { class: "NetworkTopologyStrategy", [storage.localDc]: storage.replication }
        : defaultReplication(client, storage.localDc, logger);
    return await migrate(client, storage.keyspace, replication, logger);
  } finally {
    await client.shutdown();
  }
}

function embedded(stores: Stores): Backend {
  return {
    stores,
    online: new LocalOnlinePresence(),
    health: () => ({ status: "ok", reasons: [] }),
    redisUp: () => undefined,
  };
}

/**
 * OnlinePresence for a node on its own: nobody else asks, so memory is the whole truth and
 * nothing expires (the node's own heartbeat would only ever refresh its own entries).
 */
export class LocalOnlinePresence implements OnlinePresence {
  private readonly nodes = new Map<string, string>();

  async markOnline(user: string, node: string): Promise<void> {
    this.nodes.set(user, node);
  }

  async markOffline(user: string, node: string): Promise<void> {
    if (this.nodes.get(user) === node) this.nodes.delete(user);
  }

  async online(users: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const user of users) {
      const node = this.nodes.get(user);
      if (node !== undefined) out.set(user, node);
    }
    return out;
  }
}
