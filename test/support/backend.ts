import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import pino from "pino";
import cassandra from "cassandra-driver";
import type { NodeConfig } from "../../src/config.ts";
import type { PresenceStore } from "../../src/storage/presence.ts";
import type { Logger } from "../../src/util/logger.ts";
import { testCqlContactPoint } from "./cassandra.ts";

/**
 * Which storage backend the behaviour tests run on: ROUTER_TEST_BACKEND=lmdb (default) or cql
 * (Cassandra from ROUTER_TEST_CQL plus Redis). scripts/test.mjs runs test/router/ once per
 * backend; the test files themselves do not know which.
 */
export type TestBackend = "lmdb" | "cql";

export const TEST_DATA_CENTER = "datacenter1";

/** Above the test Cassandra's own deadlines (test/support/cassandra/node-config.ts). */
export const TEST_CQL_REQUEST_TIMEOUT_MS = 20_000;

export function testBackend(): TestBackend {
  const backend = process.env["ROUTER_TEST_BACKEND"] ?? "lmdb";
  if (backend !== "lmdb" && backend !== "cql") {
    throw new Error(`ROUTER_TEST_BACKEND=${backend}: expected lmdb or cql`);
  }
  return backend;
}

/**
 * The keyspace (and Redis key prefix) of the node whose data directory is `dataDir`: a node
 * restarted on the same directory finds its data again, as it would in LMDB.
 */
export function keyspaceFor(dataDir: string): string {
  return `router_t_${createHash("sha256").update(dataDir).digest("hex").slice(0, 20)}`;
}

/**
 * The Redis scripts/test.mjs started for the cluster pass (ROUTER_TEST_REDIS); nodes share it
 * under their own key prefixes. Throws with the way to get one rather than starting a server
 * this process would then have to outlive.
 */
export function testRedisUrl(): string {
  const url = process.env["ROUTER_TEST_REDIS"];
  if (!url) {
    throw new Error(
      "ROUTER_TEST_REDIS is not set: run cluster-backend tests through `ROUTER_TEST_BACKEND=cql node scripts/test.mjs <files>`, which starts Redis and Cassandra",
    );
  }
  return url;
}

/**
 * The storage settings of a cluster-backend node owning `dataDir`; it migrates at start. Fault
 * tests pass servers of their own, which the run's shared ones are not.
 */
export function clusterStorage(dataDir: string, servers: { scylla?: string; redis?: string } = {}): NodeConfig["storage"] {
  const keyspace = keyspaceFor(dataDir);
  return {
    backend: "cql",
    scylla: servers.scylla ?? testCqlContactPoint(),
    redis: servers.redis ?? testRedisUrl(),
    keyspace,
    localDc: TEST_DATA_CENTER,
    replication: 1,
    migrateOnStart: true,
    cqlRequestTimeoutMs: TEST_CQL_REQUEST_TIMEOUT_MS,
    redisPrefix: `${keyspace}:`,
    redisCommandTimeoutMs: 1_000,
    watermarkFlushMs: 50,
  };
}

/** `router node start` flags and environment for the same settings. */
export function clusterNodeProcessSettings(dataDir: string): { args: string[]; env: Record<string, string> } {
  const storage = clusterStorage(dataDir);
  return {
    args: ["--scylla", storage.scylla, "--redis", storage.redis, "--keyspace", storage.keyspace, "--local-dc", storage.localDc],
    env: {
      ROUTER_CQL_MIGRATE_ON_START: "true",
      ROUTER_CQL_REPLICATION: String(storage.replication),
      ROUTER_REDIS_PREFIX: storage.redisPrefix,
    },
  };
}

/** A schema change waits for the cluster to agree on it: far slower than a query on a busy machine. */
export const SCHEMA_CHANGE_TIMEOUT_MS = 60_000;

/** Drops a test keyspace; the run's Cassandra would otherwise carry every test's tables. */
export async function dropKeyspace(keyspace: string, contactPoint = testCqlContactPoint()): Promise<void> {
  const client = new cassandra.Client({ contactPoints: [contactPoint], localDataCenter: TEST_DATA_CENTER, socketOptions: { readTimeout: SCHEMA_CHANGE_TIMEOUT_MS } });
  try {
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  } finally {
    await client.shutdown();
  }
}

/** The durable half of last seen, in memory: what CQL does, minus the server. */
export class MemoryLastSeen implements PresenceStore {
  readonly values = new Map<string, number>();
  async setLastSeen(user: string, ts: number): Promise<void> {
    this.values.set(user, Math.max(ts, this.values.get(user) ?? -Infinity));
  }
  async lastSeen(users: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const user of users) {
      const ts = this.values.get(user);
      if (ts !== undefined) out.set(user, ts);
    }
    return out;
  }
}

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger whose lines a test can count and wait for (a latch, not a sleep). */
export interface CapturedLogs {
  readonly logger: Logger;
  readonly lines: LogLine[];
  count(msg: string): number;
  /** Resolves with the first line, past or future, that `match` accepts; rejects after `timeoutMs`. */
  waitFor(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
}

export function captureLogs(level = "info"): CapturedLogs {
  const lines: LogLine[] = [];
  const waiters: Array<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString("utf8").split("\n")) {
        if (!text) continue;
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        for (const waiter of [...waiters]) {
          if (!waiter.match(line)) continue;
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
      done();
    },
  });
  return {
    logger: pino({ level }, stream),
    lines,
    count: (msg) => lines.filter((line) => line.msg === msg).length,
    waitFor(match, timeoutMs = 15_000) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          match,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
  };
}
