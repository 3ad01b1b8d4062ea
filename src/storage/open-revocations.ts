import type { NodeConfig } from "../config.ts";
import type { Logger } from "../util/logger.ts";
import { LmdbRevocationStore } from "./lmdb/revocation-store.ts";
import { RedisConnection } from "./redis/connection.ts";
import { RedisKeys } from "./redis/keys.ts";
import { RedisRevocationStore } from "./redis/revocations.ts";
import type { RevocationStore } from "./revocations.ts";

/**
 * The revocation store of the configured backend: LMDB under the data directory for a node
 * alone, Redis for a cluster. Nodes and `router token revoke` open it the same way, so what
 * the command writes is what every node polls. On Redis it is a connection of its own: the
 * command needs nothing else of the backend, and a node's revocations do not depend on how
 * its other stores are wired (tests replace those).
 */
export async function openRevocationStore(config: NodeConfig, logger: Logger): Promise<RevocationStore> {
  // A valid node config has a Redis exactly when it runs the cluster backend; the command
  // is given only the Redis (it needs nothing of CQL).
  if (!config.storage.redis) return new LmdbRevocationStore(config.dataDir);
  const connection = new RedisConnection({
    url: config.storage.redis,
    logger: logger.child({ component: "redis-revocations" }),
    commandTimeoutMs: config.storage.redisCommandTimeoutMs,
  });
  await connection.start();
  return new RedisRevocationStore(connection, new RedisKeys(config.storage.redisPrefix), () => connection.close());
}
