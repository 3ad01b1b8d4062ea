import type { Progress } from "../lib/progress.ts";
import { runClusterScenario, type ClusterOptions } from "./cluster.ts";
import { runConnectionsScenario, type ConnectionsOptions } from "./connections.ts";
import { DEFAULT_RATES, QUICK_RATES, runDirectScenario, type DirectScenarioOptions } from "./direct.ts";
import { runGroupScenario, type GroupOptions } from "./group.ts";
import { runHotChatScenario, type HotChatOptions } from "./hot-chat.ts";
import { runReconnectScenario, type ReconnectOptions } from "./reconnect.ts";

/** Knobs the command line can turn; each scenario reads the ones it knows. */
export interface CommonFlags {
  quick: boolean;
  pairs?: number;
  stepSeconds?: number;
  /** Offered rates for direct (and cluster) ramps, instead of the defaults. */
  rates?: number[];
  baselines: boolean;
  ejabberd: boolean;
  profile: boolean;
  cqlFlags: string[];
  /** The cluster scenario on the CQL + Redis backend (`--cql`, or `--scylla`/`--redis` given). */
  cql: boolean;
  scylla?: string;
  redis?: string;
}

export interface Scenario {
  name: string;
  summary: string;
  options(flags: CommonFlags): object;
  run(options: object, progress: Progress): Promise<unknown>;
}

function directOptions(flags: CommonFlags): DirectScenarioOptions {
  return {
    pairs: flags.pairs ?? (flags.quick ? 100 : 1000),
    processes: 2,
    rates: flags.rates ?? (flags.quick ? QUICK_RATES : DEFAULT_RATES),
    stepSeconds: flags.stepSeconds ?? (flags.quick ? 2 : 5),
    drainMs: 5000,
    bodyBytes: 64,
    p99LimitMs: 100,
    halfRateCheck: true,
    warmupSeconds: 2,
    baselines: flags.baselines,
    ejabberd: flags.ejabberd,
    profile: flags.profile,
    profileSeconds: flags.quick ? 4 : 10,
    cqlFlags: flags.cqlFlags,
  };
}

const CLUSTER_CQL_RATES = [50, 100, 150, 200, 300, 400, 600, 800, 1000, 1500, 2000, 3000, 5000];
const CLUSTER_CQL_QUICK_RATES = [50, 150, 400, 1000, 2000, 5000];

export const SCENARIOS: Scenario[] = [
  {
    name: "connections",
    summary: "5k/10k/15k idle authenticated connections: memory per connection, heartbeat CPU, projection to 1M",
    options: (flags): ConnectionsOptions => ({
      levels: flags.quick ? [1000, 2000] : [5000, 10_000, 15_000],
      perProcess: 5000,
      heartbeatSeconds: flags.quick ? 10 : 40,
      idleTimeoutSeconds: 16,
      snapshotClients: flags.quick ? 200 : 2000,
    }),
    run: (options, progress) => runConnectionsScenario(options as ConnectionsOptions, progress),
  },
  {
    name: "direct",
    summary: "pairs at a rising rate until p99 > 100 ms; the same ramp on the ceiling prototype, the plain relay, NATS and ejabberd; a CPU profile",
    options: directOptions,
    run: (options, progress) => runDirectScenario(options as DirectScenarioOptions, progress),
  },
  {
    name: "hot-chat",
    summary: "one conversation as fast as durable acks allow (the single-writer limit)",
    options: (flags): HotChatOptions => ({ windows: [1, 8, 64, 256, 1024], seconds: flags.stepSeconds ?? (flags.quick ? 2 : 5), bodyBytes: 64 }),
    run: (options, progress) => runHotChatScenario(options as HotChatOptions, progress),
  },
  {
    name: "reconnect",
    summary: "10k clients with pending messages drop and reconnect at once: time until all have synced",
    options: (flags): ReconnectOptions => ({
      clients: flags.quick ? 1000 : 10_000,
      pendingPerClient: 5,
      processes: 2,
      senders: flags.quick ? 20 : 100,
      timeoutSeconds: 120,
      bodyBytes: 64,
      spreadMs: 3000,
      // BENCH_STORM_WS_CLIENTS=1: reconnecting devices on the `ws` client, as before the lean one took the storm.
      leanClients: process.env.BENCH_STORM_WS_CLIENTS !== "1",
    }),
    run: (options, progress) => runReconnectScenario(options as ReconnectOptions, progress),
  },
  {
    name: "group",
    summary: "500-member groups: time until the last online member has the message",
    options: (flags): GroupOptions => ({
      groups: flags.quick ? 2 : 4,
      members: 500,
      processes: 2,
      // BENCH_GROUP_RATES=10,25 measures only those steps (a short comparison run).
      rates: process.env.BENCH_GROUP_RATES?.split(",").map(Number) ?? [10, 25, 50, 100, 200, 400, 800],
      stepSeconds: flags.stepSeconds ?? (flags.quick ? 2 : 5),
      minSamples: 200,
      stopAtFailure: process.env.BENCH_GROUP_RATES === undefined,
      // BENCH_GROUP_WS_MEMBERS=1: members on the `ws` client, as before the lean one took groups.
      leanMembers: process.env.BENCH_GROUP_WS_MEMBERS !== "1",
      drainMs: 3000,
      p99LimitMs: 100,
      bodyBytes: 64,
    }),
    run: (options, progress) => runGroupScenario(options as GroupOptions, progress),
  },
  {
    name: "cluster",
    summary: "the direct ramp on two nodes over NATS (LMDB each, or one CQL + Redis with --cql): pairs on one node, then pairs split across the nodes",
    options: (flags): ClusterOptions => {
      const direct = directOptions(flags);
      return {
        pairs: direct.pairs,
        processes: direct.processes,
        // Every message is several CQL writes to one Cassandra sharing the two cores: the LMDB
        // ramp's first step is already past it.
        rates: flags.rates ?? (flags.cql ? (flags.quick ? CLUSTER_CQL_QUICK_RATES : CLUSTER_CQL_RATES) : direct.rates),
        stepSeconds: direct.stepSeconds,
        drainMs: direct.drainMs,
        bodyBytes: direct.bodyBytes,
        p99LimitMs: direct.p99LimitMs,
        halfRateCheck: direct.halfRateCheck,
        // A fresh JVM compiles its write path during the first seconds of load.
        warmupSeconds: flags.cql ? 15 : direct.warmupSeconds,
        nodes: ["n1", "n2"],
        targetRatio: 0.7,
        backend: flags.cql ? "cql" : "lmdb",
        cql: flags.cql ? { scylla: flags.scylla, redis: flags.redis } : undefined,
      };
    },
    run: (options, progress) => runClusterScenario(options as ClusterOptions, progress),
  },
];
