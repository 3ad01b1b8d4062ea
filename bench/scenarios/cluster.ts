import { randomBytes } from "node:crypto";
import { chatKey, userKey } from "../../src/cluster/routing.ts";
import { Ring } from "../../src/cluster/ring.ts";
import { directChatId } from "../../src/protocol/frames.ts";
import { startClusterSystem, type ClusterStorage, type ClusterSystem } from "../lib/cluster-system.ts";
import { migrateKeyspace, startCqlBackend, type CqlBackend, type CqlBackendRequest } from "../lib/cql-backend.ts";
import type { Progress } from "../lib/progress.ts";
import type { ClientSpec } from "../load/protocol.ts";
import { runDirectRamp, type DirectOptions, type DirectRamp, type DirectStep } from "./direct-ramp.ts";

export interface ClusterOptions extends DirectOptions {
  /** Node ids of the cluster (two). */
  nodes: string[];
  /** The cross-node over same-node throughput the issue asks for. */
  targetRatio: number;
  /** Each node on its own LMDB, or all on one CQL + Redis backend (given, or started by the bench). */
  backend: ClusterBackend;
  /** On CQL: the servers to use; whichever is missing the bench starts. */
  cql?: CqlBackendRequest;
}

export type ClusterBackend = "lmdb" | "cql";

export type Placement = "same-node" | "cross-node";

/** One pair of users, placed by the ring: `a` and `b` connect to the nodes owning them. */
export interface PlannedPair {
  a: string;
  b: string;
  aNode: string;
  bNode: string;
  chatNode: string;
}

export interface NodePlacement {
  node: string;
  /** What the plan (the ring) says this node holds. */
  clients: number;
  users: number;
  chats: number;
  /** What the node itself reported (`router cluster status`) once the clients were connected. */
  reportedConnections: number;
  /** Live actors then: the UserActors of its connected users (conversations start on the first send). */
  reportedActors: number;
  /** ...and once the ramp was over (users plus conversations, unless some were passivated). */
  reportedActorsAfter: number;
}

export interface ClusterRun {
  placement: Placement;
  /** Where the nodes kept messages in this run (absent in records older than the CQL variant: lmdb). */
  backend?: ClusterBackend;
  /** On CQL: the keyspace this run's nodes shared. */
  keyspace?: string;
  description: string;
  ramp: DirectRamp;
  maxSustainedPerSec: number;
  /** The highest step that passed, and its end-to-end latency. */
  atMax?: { offeredPerSec: number; deliveredPerSec: number; p50Ms: number; p99Ms: number; p999Ms: number };
  nodes: NodePlacement[];
  /** Every node reported the connections and actors the ring placed on it. */
  placementVerified: boolean;
  /** CPU seconds of each part of the system from the warm-up to the end of the ramp (nodes, NATS, the backend's servers if the bench started them). */
  cpuSecondsByPart?: Record<string, number>;
  /** Messages published to NATS per message delivered, from the warm-up to the end of the ramp (heartbeats included). */
  natsMessagesPerDelivered: number;
}

export interface ClusterScenarioResult {
  nodes: string[];
  backend: ClusterBackend;
  /** In words: which servers the backend ran on, and who started them (LMDB: each node's own environment). */
  backendDescription?: string;
  /** On CQL: the same-node load on its own users, run first and left out of the ratio, so that neither run pays for the JVM's warm-up. */
  priming?: ClusterRun;
  sameNode: ClusterRun;
  crossNode: ClusterRun;
  /** crossNode.maxSustainedPerSec / sameNode.maxSustainedPerSec */
  ratio?: number;
  targetRatio: number;
  met?: boolean;
}

/**
 * Pairs whose users are placed as asked: `same-node` pairs have both users and their chat on
 * one node, alternating between the nodes; `cross-node` pairs have one user on each of the
 * first two nodes and their chat alternately on either. Ids are `<prefix><n>`, tried in order
 * and kept when the ring puts them where a pair still needs them.
 */
export function planPairs(ring: Ring, pairs: number, placement: Placement, prefix: string): PlannedPair[] {
  const nodes = ring.members;
  if (nodes.length < 2) throw new Error("planPairs needs at least two nodes");
  const [first, second] = [nodes[0]!, nodes[1]!];
  // Quotas per pair kind: [user node of a, user node of b, chat node] -> pairs still wanted.
  const kinds: Array<{ a: string; b: string; chat: string; wanted: number; made: PlannedPair[] }> =
    placement === "same-node"
      ? [first, second].map((node, i) => ({ a: node, b: node, chat: node, wanted: Math.floor(pairs / 2) + (i < pairs % 2 ? 1 : 0), made: [] }))
      : [first, second].map((chat, i) => ({ a: first, b: second, chat, wanted: Math.floor(pairs / 2) + (i < pairs % 2 ? 1 : 0), made: [] }));
  const unpaired = new Map<string, string[]>(nodes.map((node) => [node, []]));
  const open = (): number => kinds.reduce((sum, kind) => sum + kind.wanted - kind.made.length, 0);
  for (let n = 0; open() > 0; n += 1) {
    if (n > pairs * 1000 + 10_000) throw new Error(`could not place ${pairs} ${placement} pairs on ${nodes.join(", ")}`);
    const user = `${prefix}${n}`;
    const node = ring.ownerOf(userKey(user));
    let placed = false;
    for (const kind of kinds) {
      if (kind.made.length >= kind.wanted || (node !== kind.a && node !== kind.b)) continue;
      const partnerNode = node === kind.a ? kind.b : kind.a;
      const waiting = unpaired.get(partnerNode)!;
      const index = waiting.findIndex((other) => ring.ownerOf(chatKey(directChatId(user, other))) === kind.chat);
      if (index < 0) continue;
      const [other] = waiting.splice(index, 1);
      const [a, b] = node === kind.a ? [user, other!] : [other!, user];
      kind.made.push({ a, b, aNode: kind.a, bNode: kind.b, chatNode: kind.chat });
      placed = true;
      break;
    }
    if (!placed && kinds.some((kind) => kind.made.length < kind.wanted && (kind.a === node || kind.b === node))) unpaired.get(node)!.push(user);
  }
  // Interleaved, so each load process gets pairs of every kind.
  const out: PlannedPair[] = [];
  for (let i = 0; out.length < pairs; i += 1) for (const kind of kinds) if (kind.made[i]) out.push(kind.made[i]!);
  return out;
}

/** The load clients of planned pairs: consecutive [a, b], each connecting to the node owning its user. */
export function clusterSpecs(plan: readonly PlannedPair[], urlOf: (node: string) => string): ClientSpec[] {
  return plan.flatMap((pair, k) => [
    { user: pair.a, index: 2 * k + 1, peer: pair.b, url: urlOf(pair.aNode) },
    { user: pair.b, index: 2 * k + 2, peer: pair.a, url: urlOf(pair.bNode) },
  ]);
}

const DESCRIPTIONS: Record<Placement, string> = {
  "same-node": "both users of every pair connected to and owned by one node, their chat too (half the pairs on each node): no message crosses NATS",
  "cross-node": "the users of every pair on different nodes, each connected to the node owning it (chats half on each node): every message crosses NATS at least once, to its chat's node or from there to the recipient's, and so does its `sent` answer or its receipt ack",
};

function atMaxOf(ramp: DirectRamp): ClusterRun["atMax"] {
  const passed = ramp.steps.filter((step) => step.passed);
  if (passed.length === 0) return undefined;
  const best = passed.reduce((a: DirectStep, b: DirectStep) => (b.deliveredPerSec > a.deliveredPerSec ? b : a));
  return { offeredPerSec: best.offeredPerSec, deliveredPerSec: best.deliveredPerSec, p50Ms: best.e2e.p50Ms, p99Ms: best.e2e.p99Ms, p999Ms: best.e2e.p999Ms };
}

// long: one placement's start, ramp, status checks and record, around one try/finally
async function runPlacement(placement: Placement, options: ClusterOptions, storage: ClusterStorage, progress: Progress, userPrefix?: string): Promise<ClusterRun> {
  const ring = Ring.of(options.nodes);
  const plan = planPairs(ring, options.pairs, placement, userPrefix ?? (placement === "same-node" ? "s" : "x"));
  const name = `${userPrefix === PRIMING_PREFIX ? "priming, " : ""}${placement} (${options.nodes.length} nodes, ${storage.kind === "cql" ? "cql + redis" : "lmdb"})`;
  const system: ClusterSystem = await startClusterSystem(options.nodes, {}, name, storage);
  progress(`${name}: nodes ${system.nodes.map((n) => `${n.id} on :${n.router.port}`).join(", ")}, NATS ${system.nats.url}, prefix ${system.prefix}${system.keyspace ? `, keyspace ${system.keyspace}` : ""}; ring agreed`);
  const urls = new Map(system.nodes.map((node) => [node.id, node.router.url]));
  const specs = clusterSpecs(plan, (node) => urls.get(node)!);
  const expected = new Map(options.nodes.map((node) => [node, { clients: 0, users: 0, chats: 0 }]));
  for (const pair of plan) {
    expected.get(pair.aNode)!.users += 1;
    expected.get(pair.bNode)!.users += 1;
    expected.get(pair.chatNode)!.chats += 1;
  }
  for (const spec of specs) expected.get(ring.ownerOf(userKey(spec.user)))!.clients += 1;
  const reported = new Map<string, { connections: number; actors: number; actorsAfter: number }>();
  let natsBefore = 0;
  let cpuBefore: Record<string, number> = {};
  let ramp: DirectRamp;
  try {
    ramp = await runDirectRamp(system, options, progress, {
      specs,
      afterOpen: async () => {
        for (const status of await system.status()) reported.set(status.node, { connections: status.connections, actors: status.actors, actorsAfter: 0 });
        natsBefore = await system.natsInMessages();
        cpuBefore = system.cpuByPart();
      },
    });
    const natsAfter = await system.natsInMessages();
    const cpuSecondsByPart = Object.fromEntries(Object.entries(system.cpuByPart()).map(([part, ms]) => [part, Math.round((ms - (cpuBefore[part] ?? 0)) / 100) / 10]));
    for (const status of await system.status()) {
      const entry = reported.get(status.node);
      if (entry) entry.actorsAfter = status.actors;
    }
    const delivered = ramp.steps.reduce((sum, step) => sum + step.delivered, 0) + (ramp.atHalf?.delivered ?? 0);
    // The warm-up's messages went through NATS too (or not) but are not in the steps: estimate them from its offered rate.
    const warmup = options.warmupSeconds > 0 ? (options.rates[0] ?? 0) * options.warmupSeconds : 0;
    const nodes: NodePlacement[] = options.nodes.map((node) => ({
      node,
      ...expected.get(node)!,
      reportedConnections: reported.get(node)?.connections ?? -1,
      reportedActors: reported.get(node)?.actors ?? -1,
      reportedActorsAfter: reported.get(node)?.actorsAfter ?? -1,
    }));
    const placementVerified = nodes.every((node) => node.reportedConnections === node.clients && node.reportedActors === node.users);
    const run: ClusterRun = {
      placement,
      backend: storage.kind,
      keyspace: system.keyspace,
      description: DESCRIPTIONS[placement],
      ramp,
      maxSustainedPerSec: ramp.maxSustainedPerSec,
      atMax: atMaxOf(ramp),
      nodes,
      placementVerified,
      cpuSecondsByPart,
      natsMessagesPerDelivered: Math.round((100 * (natsAfter - natsBefore)) / Math.max(1, delivered + warmup)) / 100,
    };
    progress(
      `${name}: placement ${placementVerified ? "verified" : "NOT as planned"}: ` +
        nodes.map((n) => `${n.node} ${n.reportedConnections}/${n.clients} clients, ${n.reportedActors}/${n.users} user actors, ${n.reportedActorsAfter} actors after (${n.users} users + ${n.chats} chats)`).join("; ") +
        `; ${run.natsMessagesPerDelivered} NATS messages per delivered message; CPU s by part: ${JSON.stringify(cpuSecondsByPart)}`,
    );
    progress(`${name}: highest sustained ${run.maxSustainedPerSec} msgs/s${run.atMax ? ` (e2e p50 ${run.atMax.p50Ms} ms, p99 ${run.atMax.p99Ms} ms at ${run.atMax.offeredPerSec}/s offered)` : ""}`);
    return run;
  } finally {
    await system.stop();
  }
}

/** A fresh keyspace for the scenario (schema changes take Cassandra tens of seconds on 2 cores: once, not per run). */
async function cqlStorage(backend: CqlBackend, progress: Progress): Promise<ClusterStorage> {
  const keyspace = `bench_${randomBytes(4).toString("hex")}`;
  const startedAt = Date.now();
  await migrateKeyspace(backend, keyspace);
  progress(`keyspace ${keyspace} migrated in ${Math.round((Date.now() - startedAt) / 1000)} s`);
  return { kind: "cql", backend, keyspace };
}

const PRIMING_PREFIX = "p";

const LMDB_DESCRIPTION = "each node on its own embedded LMDB under its own data directory (--unsafe-local-store-cluster)";

/**
 * The direct load (bench/scenarios/direct-ramp.ts, the same load processes and pass rule as
 * the direct scenario) twice against a fresh two-node cluster: once with every pair on one
 * node, once with every pair split across the nodes. On `lmdb` the nodes run with
 * --unsafe-local-store-cluster (bench/lib/cluster-system.ts): fine while the ring does not
 * change, as here. On `cql` they share one Cassandra/ScyllaDB and one Redis, as a real
 * cluster does (one keyspace migrated for the scenario, its two runs on disjoint users and
 * chats, a Redis key prefix per run); servers not given are started for the scenario and
 * stopped at its end.
 */
export async function runClusterScenario(options: ClusterOptions, progress: Progress): Promise<ClusterScenarioResult> {
  progress(`nodes ${options.nodes.join(", ")} on ${options.backend}, pairs ${options.pairs}, ${options.stepSeconds} s per step, p99 limit ${options.p99LimitMs} ms`);
  const backend = options.backend === "cql" ? await startCqlBackend(options.cql ?? {}, progress) : undefined;
  const backendDescription = backend ? backend.description : LMDB_DESCRIPTION;
  if (backend) progress(`backend: ${backendDescription}`);
  let sameNode: ClusterRun;
  let crossNode: ClusterRun;
  let priming: ClusterRun | undefined;
  try {
    const storage = backend ? await cqlStorage(backend, progress) : { kind: "lmdb" as const };
    // A fresh JVM keeps compiling Cassandra's write path (Paxos included) for minutes: whichever
    // placement ran first would pay for it. A discarded run first leaves both a warm backend.
    if (backend) priming = await runPlacement("same-node", options, storage, progress, PRIMING_PREFIX);
    sameNode = await runPlacement("same-node", options, storage, progress);
    crossNode = await runPlacement("cross-node", options, storage, progress);
  } finally {
    await backend?.stop();
  }
  const ratio = sameNode.maxSustainedPerSec > 0 ? Math.round((100 * crossNode.maxSustainedPerSec) / sameNode.maxSustainedPerSec) / 100 : undefined;
  const met = ratio === undefined ? undefined : ratio >= options.targetRatio;
  progress(`cross-node / same-node throughput: ${ratio ?? "—"}× (target ≥ ${options.targetRatio}×: ${met === undefined ? "not measurable" : met ? "met" : "missed"})`);
  return { nodes: options.nodes, backend: options.backend, backendDescription, priming, sameNode, crossNode, ratio, targetRatio: options.targetRatio, met };
}
