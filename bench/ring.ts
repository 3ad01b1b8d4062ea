/**
 * Placement benchmark: spread, movement on a membership change, and lookup speed of the
 * rendezvous ring (src/cluster/ring.ts), next to a classic virtual-node ring as the
 * alternative it was chosen over. Run: node --import tsx bench/ring.ts
 * Writes bench/results/ring.json and bench/results/ring.md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ring, hashKey, hashString, ownerChanges } from "../src/cluster/ring.ts";

const KEY_COUNT = 1_000_000;
const NODE_COUNTS = [3, 10, 100] as const;
const VIRTUAL_NODES_PER_NODE = 160;
const HOSTED_KEYS_FOR_HANDOFF = 100_000;
const TIMING_ROUNDS = 3;

interface Placement {
  ownerOf(key: string): string;
}

/** Consistent hashing with virtual nodes (ketama-style), kept here only as the comparison. */
class VirtualNodeRing implements Placement {
  private readonly points: Uint32Array;
  private readonly owners: string[];

  constructor(members: readonly string[], perNode: number) {
    const entries: Array<[number, string]> = [];
    for (const id of members) {
      for (let v = 0; v < perNode; v++) entries.push([hashString(`${id}#${v}`, 0), id]);
    }
    entries.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1));
    this.points = Uint32Array.from(entries, (entry) => entry[0]);
    this.owners = entries.map((entry) => entry[1]);
  }

  ownerOf(key: string): string {
    const h = hashKey(key);
    let low = 0;
    let high = this.points.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.points[mid] as number) < h) low = mid + 1;
      else high = mid;
    }
    return this.owners[low === this.points.length ? 0 : low] as string;
  }
}

interface Spread {
  minOverMean: number;
  maxOverMean: number;
  stddevOverMean: number;
}

interface Movement {
  moved: number;
  movedFraction: number;
  idealFraction: number;
  /** Keys whose owner changed between two nodes that were members both before and after. */
  movedBetweenUnchangedNodes: number;
}

interface PlacementResult {
  spread: Spread;
  join: Movement;
  leave: Movement;
  lookupsPerSecond: number;
  nanosecondsPerLookup: number;
}

function makeKeys(count: number): string[] {
  // The two shapes the router places: users and direct chats.
  return Array.from({ length: count }, (_, i) => (i % 2 === 0 ? `user:${i.toString(36)}` : `chat:d:${i.toString(36)}:${(i * 7919).toString(36)}`));
}

function nodeIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `node-${i}`);
}

function measureSpread(placement: Placement, members: readonly string[], keys: readonly string[]): Spread {
  const counts = new Map<string, number>(members.map((id) => [id, 0]));
  for (const key of keys) {
    const owner = placement.ownerOf(key);
    counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  const values = [...counts.values()];
  const mean = keys.length / members.length;
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length;
  return {
    minOverMean: Math.min(...values) / mean,
    maxOverMean: Math.max(...values) / mean,
    stddevOverMean: Math.sqrt(variance) / mean,
  };
}

function measureMovement(before: Placement, after: Placement, changedNode: string, keys: readonly string[], idealFraction: number): Movement {
  let moved = 0;
  let movedBetweenUnchangedNodes = 0;
  for (const key of keys) {
    const from = before.ownerOf(key);
    const to = after.ownerOf(key);
    if (from === to) continue;
    moved++;
    if (from !== changedNode && to !== changedNode) movedBetweenUnchangedNodes++;
  }
  return { moved, movedFraction: moved / keys.length, idealFraction, movedBetweenUnchangedNodes };
}

type LookupSpeed = { lookupsPerSecond: number; nanosecondsPerLookup: number };

// One timing loop per placement class, so each call site stays monomorphic as it would be
// on the message path; a shared loop would charge both for polymorphic dispatch.
function timeRendezvous(ring: Ring, keys: readonly string[]): LookupSpeed {
  return bestOf((sink) => {
    for (const key of keys) sink += ring.ownerOf(key).length;
    return sink;
  }, keys.length);
}

function timeVirtualNodes(ring: VirtualNodeRing, keys: readonly string[]): LookupSpeed {
  return bestOf((sink) => {
    for (const key of keys) sink += ring.ownerOf(key).length;
    return sink;
  }, keys.length);
}

function bestOf(pass: (sink: number) => number, lookups: number): LookupSpeed {
  let best = Number.POSITIVE_INFINITY;
  let sink = 0;
  for (let round = 0; round < TIMING_ROUNDS; round++) {
    const started = process.hrtime.bigint();
    sink = pass(sink);
    best = Math.min(best, Number(process.hrtime.bigint() - started));
  }
  if (sink === 0) throw new Error("lookups were optimised away");
  return { lookupsPerSecond: Math.round((lookups / best) * 1e9), nanosecondsPerLookup: round1(best / lookups) };
}

function evaluate<P extends Placement>(
  build: (members: readonly string[]) => P,
  time: (placement: P, keys: readonly string[]) => LookupSpeed,
  nodeCount: number,
  keys: readonly string[],
): PlacementResult {
  const members = nodeIds(nodeCount);
  const placement = build(members);
  const speed = time(placement, keys);
  const joined = build([...members, "node-joining"]);
  const leaving = members[Math.floor(nodeCount / 2)] as string;
  const left = build(members.filter((id) => id !== leaving));
  return {
    spread: measureSpread(placement, members, keys),
    join: measureMovement(placement, joined, "node-joining", keys, 1 / (nodeCount + 1)),
    leave: measureMovement(placement, left, leaving, keys, 1 / nodeCount),
    ...speed,
  };
}

function measureHandOff(keys: readonly string[]): { hostedKeys: number; milliseconds: number; changes: number } {
  const before = Ring.of(nodeIds(100));
  const after = Ring.of([...nodeIds(100), "node-joining"]);
  const hosted = keys.slice(0, HOSTED_KEYS_FOR_HANDOFF);
  const started = process.hrtime.bigint();
  const changes = ownerChanges(hosted, before, after).length;
  return { hostedKeys: hosted.length, milliseconds: round1(Number(process.hrtime.bigint() - started) / 1e6), changes };
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function percent(value: number, digits = 2): string {
  return `${(value * 100).toFixed(digits)}%`;
}

function renderMarkdown(report: Report): string {
  const rows = (name: string, results: Record<string, PlacementResult>): string[] =>
    Object.entries(results).map(([nodes, r]) =>
      [
        name,
        nodes,
        r.spread.minOverMean.toFixed(4),
        r.spread.maxOverMean.toFixed(4),
        percent(r.spread.stddevOverMean),
        `${r.join.moved.toLocaleString("en")} (${percent(r.join.movedFraction)}; ideal ${percent(r.join.idealFraction)})`,
        String(r.join.movedBetweenUnchangedNodes + r.leave.movedBetweenUnchangedNodes),
        `${(r.lookupsPerSecond / 1e6).toFixed(2)} M/s (${r.nanosecondsPerLookup} ns)`,
      ].join(" | "),
    ).map((row) => `| ${row} |`);
  return [
    "# Placement benchmark (bench/ring.ts)",
    "",
    `Machine: ${report.machine.cores} cores (${report.machine.cpuModel}), ${report.machine.memoryGiB} GiB, Node ${report.machine.node}. Run ${report.ranAt}.`,
    "",
    `${report.keyCount.toLocaleString("en")} keys (half \`user:…\`, half \`chat:d:…:…\`) over node ids \`node-0…\`. Spread is keys per node relative to the mean.`,
    `"Moved on join" counts keys whose owner changes when one node joins; "stray moves" counts keys that moved between two nodes that were members both before and after (join and leave added up; minimal movement means 0).`,
    `Lookups are single-threaded, best of ${TIMING_ROUNDS} passes over all keys, including hashing the key string.`,
    "",
    "| placement | nodes | min/mean | max/mean | stddev/mean | moved on join | stray moves | lookups |",
    "|---|---|---|---|---|---|---|---|",
    ...rows("rendezvous (chosen)", report.rendezvous),
    ...rows(`${VIRTUAL_NODES_PER_NODE} virtual nodes`, report.virtualNodes),
    "",
    `Hand-off check: \`ownerChanges\` over ${report.handOff.hostedKeys.toLocaleString("en")} hosted keys, 100 → 101 nodes: ${report.handOff.milliseconds} ms (${report.handOff.changes.toLocaleString("en")} keys change owner).`,
    "",
    "Reading: rendezvous spreads as evenly as independent draws allow (binomial), at every cluster size;",
    `the ${VIRTUAL_NODES_PER_NODE}-vnode ring is several times more uneven for the same keys. Both move only`,
    "what they must. The ring's binary search is faster at 100 nodes, but rendezvous at",
    "a few hundred ns per lookup is far below the cost of decoding one frame, so the better spread wins",
    "(see the comment at the top of src/cluster/ring.ts).",
    "",
  ].join("\n");
}

interface Report {
  machine: { cores: number; cpuModel: string; memoryGiB: number; node: string };
  ranAt: string;
  keyCount: number;
  rendezvous: Record<string, PlacementResult>;
  virtualNodes: Record<string, PlacementResult>;
  virtualNodesPerNode: number;
  handOff: { hostedKeys: number; milliseconds: number; changes: number };
}

function main(): void {
  const keys = makeKeys(KEY_COUNT);
  const rendezvous: Record<string, PlacementResult> = {};
  const virtualNodes: Record<string, PlacementResult> = {};
  for (const nodeCount of NODE_COUNTS) {
    rendezvous[nodeCount] = evaluate((members) => Ring.of(members), timeRendezvous, nodeCount, keys);
    virtualNodes[nodeCount] = evaluate(
      (members) => new VirtualNodeRing(members, VIRTUAL_NODES_PER_NODE),
      timeVirtualNodes,
      nodeCount,
      keys,
    );
    process.stdout.write(`${nodeCount} nodes: ${JSON.stringify({ rendezvous: rendezvous[nodeCount], virtualNodes: virtualNodes[nodeCount] })}\n`);
  }
  const cpuList = cpus();
  const report: Report = {
    machine: {
      cores: cpuList.length,
      cpuModel: cpuList[0]?.model.trim() ?? "unknown",
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    ranAt: new Date().toISOString(),
    keyCount: KEY_COUNT,
    rendezvous,
    virtualNodes,
    virtualNodesPerNode: VIRTUAL_NODES_PER_NODE,
    handOff: measureHandOff(keys),
  };
  const resultsDir = join(dirname(fileURLToPath(import.meta.url)), "results");
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, "ring.json"), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(resultsDir, "ring.md"), renderMarkdown(report));
  process.stdout.write(`wrote ${join(resultsDir, "ring.json")} and ring.md\n`);
}

main();
