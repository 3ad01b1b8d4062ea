import type { ProfileSummary } from "../lib/cpu-profile.ts";
import type { ProfiledRun } from "../scenarios/profile-run.ts";
import { COST_KINDS, costPerMessage, type CostKind } from "./cost-split.ts";
import type { ClusterRun, ClusterScenarioResult } from "../scenarios/cluster.ts";
import type { ConnectionsResult } from "../scenarios/connections.ts";
import type { DirectRamp, DirectStep } from "../scenarios/direct-ramp.ts";
import type { DirectScenarioResult } from "../scenarios/direct.ts";
import type { GroupRun, GroupScenarioResult } from "../scenarios/group.ts";
import type { HotChatResult } from "../scenarios/hot-chat.ts";
import type { ReconnectScenarioResult } from "../scenarios/reconnect.ts";
import { barChart, lineChart } from "./svg.ts";

/** A report section: Markdown plus the SVG files it refers to. */
export interface Section {
  markdown: string;
  charts: Map<string, string>;
}

const n = (value: number | undefined): string => (value === undefined ? "—" : value.toLocaleString("en-US", { maximumFractionDigits: 2 }));

function table(header: string[], rows: Array<Array<string | number | undefined>>): string {
  const line = (cells: Array<string | number | undefined>): string => `| ${cells.map((c) => (typeof c === "number" ? n(c) : (c ?? "—"))).join(" | ")} |`;
  return [line(header), `|${header.map(() => "---").join("|")}|`, ...rows.map(line)].join("\n");
}

function errorsOf(step: DirectStep): string {
  const parts = Object.entries(step.errors).map(([code, count]) => `${code} ${count}`);
  if (step.lost) parts.push(`lost ${step.lost}`);
  if (step.duplicates) parts.push(`dup ${step.duplicates}`);
  if (step.outOfOrder) parts.push(`out of order ${step.outOfOrder}`);
  return parts.join(", ") || "none";
}

function rampTable(ramp: DirectRamp): string {
  const rows = ramp.steps.map((step) => [
    step.offeredPerSec,
    step.deliveredPerSec,
    step.e2e.p50Ms,
    step.e2e.p99Ms,
    step.e2e.p999Ms,
    step.ack.count ? step.ack.p99Ms : undefined,
    step.serverCpuPercent,
    step.serverCpuMsPer1000,
    step.serverDiskBytesPerMessage ? Math.round(step.serverDiskBytesPerMessage / 102.4) / 10 : 0,
    step.loadCpuPercent,
    step.loadCpuMsPer1000,
    errorsOf(step),
    step.passed ? "ok" : "**over**",
  ]);
  return table(
    ["offered /s", "delivered /s", "e2e p50 ms", "p99 ms", "p999 ms", "durable ack p99 ms", "server CPU % of a core", "server CPU ms / 1k msgs", "disk KB / msg", "load CPU %", "load CPU ms / 1k", "problems", ""],
    rows,
  );
}

/** The issue-13 figures as ratios to each baseline of the same run. */
function baselinesPart(result: DirectScenarioResult): string[] {
  const comparisons = result.comparisons ?? [];
  if (comparisons.length === 0) return ["No baselines in this run (`--no-baselines`): no ratios.", ""];
  const rows = comparisons.map((c) => [
    c.baseline,
    c.rateRatio === undefined ? undefined : `**${n(c.rateRatio)}×**`,
    c.cpuAtSameRate ? `${n(c.cpuAtSameRate.oursMsPer1000)} / ${n(c.cpuAtSameRate.theirsMsPer1000)} at ${n(c.cpuAtSameRate.offeredPerSec)}/s${c.cpuAtSameRate.bothPassed ? "" : " (not both passed)"}` : undefined,
    c.cpuAtSameRate?.ratio === undefined ? undefined : `**${n(c.cpuAtSameRate.ratio)}×**`,
    c.halfRateP99 ? `${n(c.halfRateP99.oursMs)} at ${n(c.halfRateP99.oursAtPerSec)}/s / ${n(c.halfRateP99.theirsMs)} at ${n(c.halfRateP99.theirsAtPerSec)}/s` : undefined,
    c.halfRateP99?.ratio === undefined ? undefined : `${n(c.halfRateP99.ratio)}×`,
  ]);
  return [
    "### The router against its baselines, same run",
    "",
    "Each figure is the router's over the baseline's. Highest rate: higher is better for the router. Server CPU per 1,000 messages is compared at one offered rate both ran (the highest both passed), since a per-turn design's cost per message falls as its rate rises; lower is better. p99 at half rate is each system at half of its own highest rate.",
    "",
    table(["baseline", "highest rate at p99 < 100 ms, ratio", "server CPU ms / 1k: router / baseline", "CPU ratio", "p99 ms at half rate: router / baseline", "p99 ratio"], rows),
    "",
  ];
}

export function directSection(result: DirectScenarioResult): Section {
  const charts = new Map<string, string>();
  const ran = (value: DirectRamp | { skipped: string } | undefined): DirectRamp | undefined => (value && "steps" in value ? value : undefined);
  const ramps = [result.router, result.baselines.ceiling, result.baselines.relay, ran(result.baselines.ejabberd), result.baselines.nats, ran(result.cql)].filter(
    (ramp): ramp is DirectRamp => ramp !== undefined,
  );
  charts.set(
    "direct-latency.svg",
    lineChart({
      title: "Direct messages: end-to-end latency against delivered rate",
      xLabel: "delivered messages per second",
      yLabel: "latency (ms)",
      logX: true,
      logY: true,
      guide: { y: 100, label: "p99 limit 100 ms" },
      series: ramps.flatMap((ramp) => [
        { name: `${ramp.system} p99`, points: ramp.steps.map((s) => [s.deliveredPerSec, s.e2e.p99Ms] as [number, number]) },
        { name: `${ramp.system} p50`, points: ramp.steps.map((s) => [s.deliveredPerSec, s.e2e.p50Ms] as [number, number]), dashed: true },
      ]),
    }),
  );
  charts.set(
    "direct-throughput.svg",
    lineChart({
      title: "Direct messages: delivered against offered",
      xLabel: "offered messages per second",
      yLabel: "delivered messages per second",
      logX: true,
      logY: true,
      series: ramps.map((ramp) => ({ name: ramp.system, points: ramp.steps.map((s) => [s.offeredPerSec, s.deliveredPerSec] as [number, number]) })),
    }),
  );
  const summaryRows = ramps.map((ramp) => [
    ramp.system,
    ramp.clients,
    ramp.maxSustainedPerSec,
    ramp.atHalf?.offeredPerSec,
    ramp.atHalf?.e2e.p50Ms,
    ramp.atHalf?.e2e.p99Ms,
    ramp.atHalf?.e2e.p999Ms,
    ramp.atHalf?.serverCpuMsPer1000,
  ]);
  const parts = [
    "## Direct messages",
    "",
    "Pairs of users, both ends sending to each other at a rising total rate (open loop: each message is due at a fixed time and its latency counts from then, so a falling-behind load generator cannot hide latency). End to end is from the scheduled send until the recipient's load process decoded it; the router's `sent` (durable) is tracked beside it. A step passes when p99 ≤ 100 ms, nothing is lost and at least 95% of the offered rate is delivered inside the step.",
    "",
    table(["system", "clients", "highest sustained msgs/s (p99 < 100 ms)", "half rate /s", "p50 ms there", "p99 ms there", "p999 ms there", "server CPU ms / 1k there"], summaryRows),
    "",
    ...baselinesPart(result),
    "![latency](direct-latency.svg)",
    "",
    "![throughput](direct-throughput.svg)",
    "",
  ];
  for (const ramp of ramps) parts.push(`### ${ramp.system}`, "", rampTable(ramp), "");
  const ejabberd = result.baselines.ejabberd;
  if (ejabberd && "skipped" in ejabberd) parts.push("### ejabberd", "", `Skipped: ${ejabberd.skipped}`, "");
  if (result.cql && "skipped" in result.cql) parts.push(`### CQL + Redis backend`, "", `Skipped: ${result.cql.skipped}`, "");
  if (!result.cql) parts.push("### CQL + Redis backend", "", "Not run: pass `--scylla HOSTS --redis URL` once the node takes them.", "");
  return { markdown: parts.join("\n"), charts };
}

export function profileSection(result: DirectScenarioResult): Section {
  const charts = new Map<string, string>();
  const run = result.profile;
  if (!run) return { markdown: "## Where the time goes\n\nNo profile in this run (`--no-profile`).\n", charts };
  const profile: ProfileSummary = run.profile;
  charts.set(
    "profile-areas.svg",
    barChart({ title: "Router main thread: self time by area (% of busy time)", unit: "%", bars: profile.areas.slice(0, 14).map((a) => ({ label: a.area, value: a.percent })) }),
  );
  const parts = [
    "## Where the time goes: CPU profile of the router",
    "",
    `The direct load once more at ${n(run.rate)} msgs/s for ${run.seconds} s against a router started with \`node --cpu-prof\` (a separate run, so the profiler does not touch the numbers above; only samples taken while the load ran are counted). It delivered ${n(run.step.deliveredPerSec)}/s at p99 ${n(run.step.e2e.p99Ms)} ms, using ${n(run.step.serverCpuMsPer1000)} ms of router CPU and ${n(Math.round(run.step.serverDiskBytesPerMessage / 1024))} KB of disk writes per message.`,
    "",
    `Main thread: busy ${n(profile.busyMs)} ms of ${n(profile.windowMs)} ms sampled (${n(Math.round((1000 * profile.busyMs) / Math.max(1, profile.windowMs)) / 10)}%), of which GC ${n(profile.gcMs)} ms.`,
    "",
    "CPU by thread over the same window (from /proc/<pid>/task; the main thread runs all JavaScript, uWS and lmdb reads; libuv's pool threads run lmdb's write transactions and their fsyncs; V8's helper threads run concurrent GC):",
    "",
    table(["thread", "CPU ms", "% of the router's CPU"], run.threads.slice(0, 10).map((t) => [t.thread, t.cpuMs, t.percentOfProcess])),
    "",
    "![areas](profile-areas.svg)",
    "",
    "Top functions by self time (percent of the main thread's busy time):",
    "",
    table(["function", "where", "self %", "total %"], profile.top.slice(0, 25).map((f) => [`\`${f.name}\``, f.location || f.area, f.selfPercent, f.totalPercent])),
    "",
    "The router's own functions by inclusive time (what the time above is spent on behalf of):",
    "",
    table(["function", "file", "total %", "self %"], profile.routerInclusive.slice(0, 20).map((f) => [`\`${f.name}\``, f.location.replace(/:\d+$/, ""), f.totalPercent, f.selfPercent])),
    "",
    ...beside(run, result.ceilingProfile),
  ];
  return { markdown: parts.join("\n"), charts };
}

/** The router's main-thread cost per message beside the ceiling's at the same rate, by kind of work. */
function beside(router: ProfiledRun, ceiling: ProfiledRun | undefined): string[] {
  if (!ceiling) return [];
  const ours = costPerMessage(router);
  const theirs = costPerMessage(ceiling);
  const total = (split: Map<CostKind, number>) => [...split.values()].reduce((sum, us) => sum + us, 0);
  const us = (value: number) => Math.round(value * 10) / 10;
  const rows: Array<Array<string | number>> = COST_KINDS.map((kind) => [kind, us(ours.get(kind)!), us(theirs.get(kind)!), us(ours.get(kind)! - theirs.get(kind)!)]);
  rows.push(["**main thread, all**", us(total(ours)), us(total(theirs)), us(total(ours) - total(theirs))]);
  return [
    `### The router beside the ceiling prototype, both profiled at ${n(router.rate)} msgs/s`,
    "",
    `Main-thread self time per delivered message (µs), by kind of work. The ceiling delivered ${n(ceiling.step.deliveredPerSec)}/s at p99 ${n(ceiling.step.e2e.p99Ms)} ms using ${n(ceiling.step.serverCpuMsPer1000)} ms of CPU per 1,000 (the router: ${n(router.step.deliveredPerSec)}/s, p99 ${n(router.step.e2e.p99Ms)} ms, ${n(router.step.serverCpuMsPer1000)} ms). What both pay is this design's own cost; the last column is ours.`,
    "",
    table(["kind of work", "router µs", "ceiling µs", "router − ceiling"], rows),
    "",
  ];
}

export function connectionsSection(result: ConnectionsResult): Section {
  const charts = new Map<string, string>();
  const points = [result.baseline, ...result.levels];
  charts.set(
    "connections-memory.svg",
    lineChart({
      title: "Router memory against idle authenticated connections",
      xLabel: "connections",
      yLabel: "MB",
      series: [
        { name: "RSS", points: points.map((p) => [p.connections, p.rssKb / 1024] as [number, number]) },
        { name: "V8 heap used", points: points.map((p) => [p.connections, p.heap.heapUsedKb / 1024] as [number, number]) },
        { name: "kernel TCP (both ends)", points: points.map((p) => [p.connections, p.kernelTcpKb / 1024] as [number, number]), dashed: true },
      ],
    }),
  );
  const h = result.heartbeat;
  const p = result.projection;
  const parts = [
    "## Idle connections",
    "",
    "Authenticated (hello → welcome → synced) connections that then stay silent, opened from several load processes on distinct 127.0.0.x source addresses. Memory is read after two full GCs through the inspector (`--inspect`); RSS from /proc/<pid>/status, kernel socket memory from /proc/net/sockstat.",
    "",
    table(
      ["connections", "RSS MB", "heap used MB", "external MB", "kernel TCP MB", "router fds"],
      points.map((pt) => [pt.connections, Math.round(pt.rssKb / 102.4) / 10, Math.round(pt.heap.heapUsedKb / 102.4) / 10, Math.round(pt.heap.externalKb / 102.4) / 10, Math.round(pt.kernelTcpKb / 102.4) / 10, pt.openFiles]),
    ),
    "",
    "Per connection (delta from the baseline, divided by the connections):",
    "",
    table(["connections", "RSS bytes", "heap bytes", "external bytes", "kernel bytes (both ends)"], result.perConnection.map((c) => [c.connections, c.rssBytes, c.heapUsedBytes, c.externalBytes, c.kernelBytes])),
    "",
    "![memory](connections-memory.svg)",
    "",
    `Heartbeats: ${n(h.connections)} idle connections for ${h.seconds} s with the idle timeout at ${h.idleTimeoutSeconds} s: ${n(h.pings)} pings (one per connection every ${h.pingIntervalSeconds} s), router CPU ${n(h.routerCpuMs)} ms (${h.cpuPercent}% of a core), ${n(h.cpuUsPerPing)} µs per ping.`,
    "",
    `**Projection to ${n(p.connections)} connections on one node:** RSS ≈ ${p.rssGiB} GiB, V8 heap ≈ ${p.heapGiB} GiB, kernel socket memory ≈ ${p.kernelGiB} GiB, heartbeats ≈ ${p.heartbeatCores} cores. ${p.notes.join("; ")}.`,
    "",
    "What one more connection costs in the V8 heap, from a heap-snapshot diff (objects by constructor):",
    "",
    table(["constructor", "objects per connection", "bytes per connection"], result.heapPerConnection.slice(0, 15).map((c) => [`\`${c.name}\``, c.countPerConnection, c.bytesPerConnection])),
    "",
  ];
  return { markdown: parts.join("\n"), charts };
}

export function hotChatSection(result: HotChatResult): Section {
  const charts = new Map<string, string>();
  charts.set(
    "hot-chat.svg",
    lineChart({
      title: "One hot chat: durable messages per second against sends in flight",
      xLabel: "unanswered sends per member",
      yLabel: "durable msgs/s",
      logX: true,
      guide: { y: 20_000, label: "target 20,000/s" },
      series: [{ name: "durable (sent) /s", points: result.runs.map((r) => [r.window, r.durableAckedPerSec] as [number, number]) }],
    }),
  );
  const parts = [
    "## One hot chat",
    "",
    `${result.note}. Each run keeps a fixed number of sends unanswered per member: a window of 1 is one message per durable round trip, larger windows let the chat's writer group-commit.`,
    "",
    table(
      ["window", "durable msgs/s", "sent-ack p50 ms", "p99 ms", "delivered /s", "e2e p99 ms", "server CPU %", "errors"],
      result.runs.map((r) => [r.window, r.durableAckedPerSec, r.ack.p50Ms, r.ack.p99Ms, r.deliveredPerSec, r.e2e.p99Ms, r.serverCpuPercent, Object.entries(r.errors).map(([c, k]) => `${c} ${k}`).join(", ") || "none"]),
    ),
    "",
    "![hot chat](hot-chat.svg)",
    "",
  ];
  return { markdown: parts.join("\n"), charts };
}

export function reconnectSection(result: ReconnectScenarioResult): Section {
  const runs = [result.atOnce, result.spread];
  const first = result.atOnce;
  const parts = [
    "## Reconnect storm",
    "",
    `${n(first.clients)} connected clients are dropped at once (TCP reset, no close handshake); ${first.pendingPerClient} messages each are sent to them while they are away; then they reconnect and say hello, retrying a refused or reset connection with exponential backoff (100 ms doubling, at most 5 s) and jitter. First every client at the same instant, then (dropped and sent to again) with reconnects spread uniformly over ${result.spread.spreadMs / 1000} s as jittered clients would. Accept-queue overflows are the kernel's ListenOverflows counter (/proc/net/netstat) over the storm.${result.loadClient ? ` The reconnecting devices ran on the ${result.loadClient === "lean" ? "lean bare-socket client" : "`ws` client"}.` : ""}`,
    "",
    table(
      ["reconnects", "all synced after", "p50", "p90", "p99", "retries", "failed", "incomplete", "pending replayed", "accept-queue overflows", "router CPU", "load processes' CPU"],
      runs.map((r) => [
        r.spreadMs ? `spread over ${r.spreadMs / 1000} s` : "all at once",
        `${r.allSyncedSeconds} s`,
        `${r.timeToSynced.p50Ms} ms`,
        `${r.timeToSynced.p90Ms} ms`,
        `${r.timeToSynced.p99Ms} ms`,
        r.retries,
        r.failed,
        r.incomplete,
        r.pendingReceived,
        r.listenOverflows,
        `${n(r.serverCpuMs)} ms`,
        r.loadCpuMs === undefined ? undefined : `${n(r.loadCpuMs)} ms`,
      ]),
    ),
    "",
    ...runs
      .filter((r) => Object.keys(r.connectErrors ?? {}).length > 0)
      .map((r) => `Failed attempts (${r.spreadMs ? "spread" : "at once"}), by error: ${Object.entries(r.connectErrors).map(([message, count]) => `\`${message}\` ${n(count)}`).join(", ")}.`),
    "",
  ];
  return { markdown: parts.join("\n"), charts: new Map() };
}

export function groupSection(result: GroupScenarioResult): Section {
  if ("skipped" in result) return { markdown: `## Groups\n\nSkipped: ${result.skipped}.\n`, charts: new Map() };
  const charts = new Map<string, string>();
  const variants: Array<[string, GroupRun]> = [
    ["members ack", result.withAcks],
    ["members never ack", result.withoutAcks],
  ];
  charts.set(
    "group.svg",
    lineChart({
      title: `${result.members}-member groups: time until the last online member has it`,
      xLabel: "group messages per second",
      yLabel: "ms",
      logX: true,
      logY: true,
      guide: { y: 20, label: "target p99 20 ms" },
      series: variants.flatMap(([name, run]) => [
        { name: `${name}: p99`, points: run.steps.map((s) => [s.messagesPerSec, s.lastMember.p99Ms] as [number, number]) },
        { name: `${name}: p50`, points: run.steps.map((s) => [s.messagesPerSec, s.lastMember.p50Ms] as [number, number]), dashed: true },
      ]),
    }),
  );
  const parts = [
    "## Groups",
    "",
    `${result.groups} groups of ${result.members} members, every member online, members dealt across the load processes; one member of each group sends at a rising total rate. Time to the last member is, per message, the latest arrival among the ${result.members - 1} other members. Measured twice on fresh nodes: with members acking what they receive (as the SDK does), and with members that never ack, which leaves the delivery fan-out alone.`,
    "",
  ];
  for (const [name, run] of variants) {
    parts.push(
      `### ${name} (highest sustained: ${n(run.maxSustainedPerSec)} group messages/s)`,
      "",
      table(
        ["group msgs/s", "deliveries /s", "last member p50 ms", "p99 ms", "max ms", "incomplete", ""],
        run.steps.map((s) => [s.messagesPerSec, s.deliveriesPerSec, s.lastMember.p50Ms, s.lastMember.p99Ms, s.lastMember.maxMs, s.incomplete, s.passed ? "ok" : "**over**"]),
      ),
      "",
    );
  }
  parts.push("![groups](group.svg)", "");
  return { markdown: parts.join("\n"), charts };
}

/** Where the cluster's nodes kept messages, in words (records from before the CQL variant say only `lmdb`). */
function clusterBackendWords(result: ClusterScenarioResult): string {
  if (result.backend === "cql") {
    const primed = result.priming ? `, after a discarded priming run (the same-node load on other users: ${n(result.priming.maxSustainedPerSec)} msgs/s) so that neither measured run pays for the JVM's warm-up` : "";
    return `all nodes on one shared CQL + Redis backend (**cql**: ${result.backendDescription ?? "servers not recorded"}; one fresh keyspace for the scenario, a Redis key prefix per run${primed})`;
  }
  return "each node on the embedded LMDB backend (**lmdb**) with its own data directory (`--unsafe-local-store-cluster`)";
}

export function clusterSection(result: ClusterScenarioResult | undefined): Section {
  if (!result) return { markdown: "## Cluster\n\nNot measured yet. Run `npm run bench -- cluster`.\n", charts: new Map() };
  const charts = new Map<string, string>();
  const runs: Array<[string, ClusterRun]> = [
    ["same node", result.sameNode],
    ["across nodes", result.crossNode],
  ];
  charts.set(
    "cluster.svg",
    lineChart({
      title: "Two nodes: end-to-end latency, pairs on one node and across nodes",
      xLabel: "delivered messages per second",
      yLabel: "latency (ms)",
      logX: true,
      logY: true,
      guide: { y: 100, label: "p99 limit 100 ms" },
      series: runs.flatMap(([name, run]) => [
        { name: `${name} p99`, points: run.ramp.steps.map((s) => [s.deliveredPerSec, s.e2e.p99Ms] as [number, number]) },
        { name: `${name} p50`, points: run.ramp.steps.map((s) => [s.deliveredPerSec, s.e2e.p50Ms] as [number, number]), dashed: true },
      ]),
    }),
  );
  const verdict =
    result.ratio === undefined
      ? "not measurable (the same-node run sustained no step)"
      : result.ratio === 0
        ? `**missed**: the cross-node run sustained no step (target ≥ ${result.targetRatio}×)`
        : result.ratio >= result.targetRatio
        ? `**met** (target ≥ ${result.targetRatio}×)`
        : `**missed** by ${n(Math.round((result.targetRatio - result.ratio) * 100) / 100)}× (target ≥ ${result.targetRatio}×: ${n(Math.round((1000 * result.ratio) / result.targetRatio) / 10)}% of it)`;
  const unverified = runs.filter(([, run]) => !run.placementVerified).map(([name]) => name);
  const parts = [
    `## Cluster: same node against across nodes (${result.backend})`,
    "",
    `The direct load above (same pairs, load processes, open-loop ramp and pass rule) run twice against a fresh cluster of ${result.nodes.length} nodes (${result.nodes.join(", ")}) on one nats-server, ${clusterBackendWords(result)}, all with one \`--secret\`. User ids are chosen with the ring (src/cluster/ring.ts) so every user's actor is on a known node, and each client connects to the node owning its user. **Same node**: ${result.sameNode.description}. **Across nodes**: ${result.crossNode.description}. Server CPU below is the two nodes' and the NATS server's together${result.backend === "cql" ? " (and Cassandra's and Redis's when the bench started them)" : ""}, in percent of one core; the load processes share the same two cores.`,
    "",
    table(
      ["placement", "backend", "clients per node", "placement as planned", "highest sustained msgs/s (p99 < 100 ms)", "p50 ms there", "p99 ms there", "half rate /s", "p50 ms there", "p99 ms there", "NATS msgs per delivered msg"],
      runs.map(([name, run]) => [
        name,
        run.backend ?? result.backend,
        run.nodes.map((node) => `${node.node} ${n(node.clients)}`).join(", "),
        run.placementVerified ? "yes" : "**no**",
        run.maxSustainedPerSec,
        run.atMax?.p50Ms,
        run.atMax?.p99Ms,
        run.ramp.atHalf?.offeredPerSec,
        run.ramp.atHalf?.e2e.p50Ms,
        run.ramp.atHalf?.e2e.p99Ms,
        run.natsMessagesPerDelivered,
      ]),
    ),
    "",
    `**Cross-node / same-node throughput: ${result.ratio === undefined ? "—" : `${n(result.ratio)}×`}**, ${verdict}.`,
    "",
    "\"Placement as planned\": once the clients were connected, every node reported (`router cluster status`) exactly the connections and UserActors the ring put on it. NATS messages are what the nats-server received (its `/varz` `in_msgs`) from the warm-up to the end of the ramp, heartbeats included, per message delivered; one NATS message can carry a batch of deliveries.",
    "",
    ...(unverified.length > 0 ? [`**Warning:** placement did not match the plan in: ${unverified.join(", ")} (see the JSON record's \`nodes\`).`, ""] : []),
    "![cluster](cluster.svg)",
    "",
  ];
  for (const [name, run] of runs) parts.push(`### ${name}: ${n(run.ramp.clients)} clients`, "", rampTable(run.ramp), "");
  return { markdown: parts.join("\n"), charts };
}
