import { rmSync } from "node:fs";
import { connect } from "nats";
import { clusterStatus } from "../../src/cluster/admin.ts";
import type { NodeConfig } from "../../src/config.ts";
import { openCqlStores } from "../../src/storage/cql/cql-stores.ts";
import type { Stores } from "../../src/storage/stores.ts";
import { clusterStorage, dropKeyspace, TEST_CQL_REQUEST_TIMEOUT_MS } from "./backend.ts";
import { testCqlContactPoint } from "./cassandra.ts";
import { startNatsServer, type NatsServer } from "./nats.ts";
import { NodeProcess, tempDir } from "./node.ts";
import { startRedisServer, type RedisServer } from "./redis.ts";

/**
 * What a cluster test's nodes share, as in production: one NATS, one CQL keyspace (on the
 * run's Cassandra) and one Redis. NATS and Redis are this test's own, so it can stop them.
 */
export class ClusterBackend {
  /** Data directories of the node processes this cluster started; stop() removes them. */
  private readonly nodeDirs: string[] = [];

  private constructor(
    readonly nats: NatsServer,
    readonly redis: RedisServer,
    /** Names the keyspace and Redis prefix (see keyspaceFor); nodes keep their own data dirs. */
    private readonly sharedDir: string,
    /** The same keyspace, for a test to look at what was stored. */
    readonly stores: Stores,
    /** NATS subject prefix of this cluster. */
    readonly prefix: string,
  ) {}

  static async start(prefix: string): Promise<ClusterBackend> {
    const [nats, redis] = await Promise.all([startNatsServer(), startRedisServer()]);
    const sharedDir = tempDir("router-cluster-");
    const storage = clusterStorage(sharedDir, { redis: redis.url });
    // Migrated once here: nodes starting together would otherwise race to create the tables.
    const stores = await openCqlStores({
      contactPoints: [storage.scylla],
      localDataCenter: storage.localDc,
      keyspace: storage.keyspace,
      replication: { class: "SimpleStrategy", replication_factor: 1 },
      requestTimeoutMs: TEST_CQL_REQUEST_TIMEOUT_MS,
    });
    return new ClusterBackend(nats, redis, sharedDir, stores, prefix);
  }

  /** Storage settings of every node of this cluster. */
  storage(): NodeConfig["storage"] {
    return { ...clusterStorage(this.sharedDir, { redis: this.redis.url }), migrateOnStart: false };
  }

  /**
   * A `router node start` process of this cluster listening on `host` (another 127.0.0.x),
   * with a data directory of its own; `env` adds settings (heartbeat, timeouts).
   */
  async startProcess(nodeId: string, host: string, env: Record<string, string> = {}): Promise<NodeProcess> {
    const storage = this.storage();
    const args = [
      ...["--nats", this.nats.url, "--cluster-prefix", this.prefix, "--node-id", nodeId],
      ...["--scylla", storage.scylla, "--redis", storage.redis, "--keyspace", storage.keyspace, "--local-dc", storage.localDc],
    ];
    const dataDir = tempDir();
    this.nodeDirs.push(dataDir);
    return NodeProcess.start(dataDir, undefined, args, { host, env: { ROUTER_REDIS_PREFIX: storage.redisPrefix, ...env } });
  }

  /** Until every node answers the operator and each sees exactly `ids` in its ring. */
  async waitForRing(ids: string[]): Promise<void> {
    const expected = [...ids].sort().join();
    const operator = await connect({ servers: this.nats.url });
    try {
      for (;;) {
        const statuses = await clusterStatus(operator, this.prefix, 500);
        if (statuses.length === ids.length && statuses.every((status) => [...status.members].sort().join() === expected)) return;
      }
    } finally {
      await operator.close();
    }
  }

  async stop(): Promise<void> {
    await this.stores.close();
    await dropKeyspace(this.storage().keyspace, testCqlContactPoint());
    await Promise.all([this.nats.stop(), this.redis.stop()]);
    for (const dir of [this.sharedDir, ...this.nodeDirs]) rmSync(dir, { recursive: true, force: true });
  }
}

