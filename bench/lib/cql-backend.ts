import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { startCassandra, type CassandraNode } from "../../test/support/cassandra.ts";
import { startRedisServer, type RedisServer } from "../../test/support/redis.ts";
import type { Progress } from "./progress.ts";
import { readCpuMs, readIo, readMemory } from "./proc.ts";
import { REPO_ROOT } from "./router-process.ts";

/** Where the shared store comes from: given (`--scylla HOSTS --redis URL`) or started by the bench. */
export interface CqlBackendRequest {
  scylla?: string;
  redis?: string;
}

/**
 * The CQL backend the router's cluster runs on: ScyllaDB / Cassandra for messages, Redis for
 * presence and rate limits. Servers the bench started itself are measured (their pids are
 * known) and stopped by `stop()`; given ones are neither.
 */
export interface CqlBackend {
  scylla: string;
  redis: string;
  localDc: string;
  /** In words, for the result JSON: what ran where, and who started it. */
  description: string;
  /** CPU, RSS and disk writes of the servers the bench started (0 for given ones). */
  cpuMs(): number;
  rssKb(): number;
  diskWriteBytes(): number;
  stop(): Promise<void>;
}

/** A direct child of this process running `comm` (its /proc comm name) and holding `marker` in its command line. */
function childPid(comm: string, marker: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent !== process.pid || readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== comm) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker)) return Number(entry);
    } catch {
      // exited meanwhile
    }
  }
  return undefined;
}

function sumOver(pids: number[], read: (pid: number) => number): () => number {
  return () => pids.reduce((sum, pid) => {
    try {
      return sum + read(pid);
    } catch {
      return sum; // stopped already
    }
  }, 0);
}

/** Uses the given servers, or starts Cassandra and redis-server on free ports for the run. */
export async function startCqlBackend(request: CqlBackendRequest, progress: Progress): Promise<CqlBackend> {
  let cassandra: CassandraNode | undefined;
  let redis: RedisServer | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all([cassandra?.stop(), redis?.stop()]);
  };
  try {
    if (!request.scylla) {
      const startedAt = Date.now();
      progress("starting Cassandra for the CQL backend (tens of seconds on 2 cores)");
      cassandra = await startCassandra({ log: progress });
      progress(`Cassandra ready on ${cassandra.contactPoint} after ${Math.round((Date.now() - startedAt) / 1000)} s`);
    }
    if (!request.redis) redis = await startRedisServer();
    const pids = [
      ...(cassandra ? [childPid("java", "CassandraDaemon")] : []),
      ...(redis ? [childPid("redis-server", String(redis.port))] : []),
    ].filter((pid): pid is number => pid !== undefined);
    const scylla = request.scylla ?? cassandra!.contactPoint;
    const redisUrl = request.redis ?? redis!.url;
    return {
      scylla,
      redis: redisUrl,
      localDc: cassandra?.dataCenter ?? "datacenter1",
      description: `${cassandra ? `Cassandra 5 started by the bench (${scylla}, single node, commit log not fsync'd per write)` : `given CQL contact points ${scylla}`}; ${redis ? `redis-server started by the bench (${redisUrl}, no persistence)` : `given Redis ${redisUrl}`}`,
      cpuMs: sumOver(pids, readCpuMs),
      rssKb: sumOver(pids, (pid) => readMemory(pid).rssKb),
      diskWriteBytes: sumOver(pids, (pid) => readIo(pid).writeBytes),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** `router db migrate` into a fresh keyspace, one replica: each run starts from empty tables. */
export async function migrateKeyspace(backend: CqlBackend, keyspace: string): Promise<void> {
  const args = ["bin/router.mjs", "db", "migrate", "--scylla", backend.scylla, "--keyspace", keyspace, "--local-dc", backend.localDc, "--replication", "1"];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output = (output + chunk).slice(-4000)));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output = (output + chunk).slice(-4000)));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`router db migrate --keyspace ${keyspace} exited with ${code}:\n${output}`);
}
