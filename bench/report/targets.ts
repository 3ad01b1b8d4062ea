import type { ScenarioRecord } from "../lib/results.ts";
import type { ConnectionsResult } from "../scenarios/connections.ts";
import type { DirectScenarioResult } from "../scenarios/direct.ts";
import type { GroupScenarioResult } from "../scenarios/group.ts";
import type { HotChatResult } from "../scenarios/hot-chat.ts";
import type { ReconnectScenarioResult } from "../scenarios/reconnect.ts";
import type { ClusterScenarioResult } from "../scenarios/cluster.ts";

export interface TargetRow {
  figure: string;
  target: string;
  measured: string;
  verdict: string;
}

const fmt = (value: number): string => value.toLocaleString("en-US", { maximumFractionDigits: 2 });

/** "at most" targets: how many times over, and by how much. */
function atMost(measured: number | undefined, target: number, unit: string, context = ""): [string, string] {
  if (measured === undefined) return ["not measured", "—"];
  const shown = `${fmt(measured)} ${unit}${context ? ` (${context})` : ""}`;
  if (measured <= target) return [shown, "**met**"];
  return [shown, `missed: ${fmt(measured / target)}× the target (${fmt(measured - target)} ${unit} over)`];
}

/** "at least" targets. */
function atLeast(measured: number | undefined, target: number, unit: string): [string, string] {
  if (measured === undefined) return ["not measured", "—"];
  const shown = `${fmt(measured)}${unit ? ` ${unit}` : ""}`;
  if (measured >= target) return [shown, "**met**"];
  if (measured === 0) return [shown, "missed: no step passed"];
  return [shown, `missed: ${fmt(measured / target)} of the target (${fmt(target / Math.max(measured, 1e-9))}× short)`];
}

function result<T>(records: Map<string, ScenarioRecord>, name: string): T | undefined {
  return records.get(name)?.result as T | undefined;
}

export function targetRows(records: Map<string, ScenarioRecord>): TargetRow[] {
  const connections = result<ConnectionsResult>(records, "connections");
  const direct = result<DirectScenarioResult>(records, "direct");
  const group = result<GroupScenarioResult>(records, "group");
  const hot = result<HotChatResult>(records, "hot-chat");
  const reconnect = result<ReconnectScenarioResult>(records, "reconnect")?.atOnce;
  const cluster = result<ClusterScenarioResult>(records, "cluster");

  const rows: TargetRow[] = [];
  const add = (figure: string, target: string, [measured, verdict]: [string, string]): void => {
    rows.push({ figure, target, measured, verdict });
  };
  const perConnection = connections?.perConnection.at(-1);
  add(
    "router RSS per idle authenticated connection",
    "≤ 4 KB",
    atMost(perConnection ? Math.round(perConnection.rssBytes / 102.4) / 10 : undefined, 4, "KB", `at ${fmt(perConnection?.connections ?? 0)} connections`),
  );
  add("durable direct messages per second at p99 < 100 ms", "≥ 50,000", atLeast(direct?.router.maxSustainedPerSec, 50_000, "msgs/s"));
  const half = direct?.router.atHalf;
  add("p99 end to end at half that rate", "≤ 20 ms", atMost(half?.e2e.p99Ms, 20, "ms", `at ${fmt(half?.offeredPerSec ?? 0)} msgs/s`));
  add("versus the plain relay baseline, same run", "≥ 3x its throughput", atLeast(direct?.ratios.relay, 3, "×"));
  if (group && "skipped" in group) {
    rows.push({ figure: "500-member group, time to the last online member", target: "p99 ≤ 20 ms", measured: "not measured", verdict: `skipped: ${group.skipped}` });
  } else {
    const first = group?.withAcks.steps[0];
    add("500-member group, time to the last online member", "p99 ≤ 20 ms", atMost(first?.lastMember.p99Ms, 20, "ms", `at ${fmt(first?.offeredPerSec ?? 0)} group msgs/s, members acking`));
  }
  add("one hot chat, durable acks", "≥ 20,000 messages/s", atLeast(hot?.best.durableAckedPerSec, 20_000, "msgs/s"));
  if (cluster) {
    const [shown, ratioVerdict] = atLeast(cluster.ratio, cluster.targetRatio, "×");
    const verdict = cluster.ratio === 0 ? "missed: the cross-node run sustained no step" : ratioVerdict;
    const unverified = !cluster.sameNode.placementVerified || !cluster.crossNode.placementVerified;
    rows.push({
      figure: "cross-node versus same-node throughput",
      target: `≥ ${cluster.targetRatio}x`,
      measured: `${shown} (${fmt(cluster.crossNode.maxSustainedPerSec)} against ${fmt(cluster.sameNode.maxSustainedPerSec)} msgs/s, ${cluster.nodes.length} nodes on ${cluster.backend === "cql" ? "CQL + Redis" : "LMDB each"})`,
      verdict: unverified ? `${verdict}; placement not as planned` : verdict,
    });
  } else {
    rows.push({ figure: "cross-node versus same-node throughput", target: "≥ 0.7x", measured: "not measured", verdict: "run `npm run bench -- cluster`" });
  }
  const storm = reconnect ? reconnect.allSyncedSeconds + (reconnect.failed > 0 || reconnect.incomplete > 0 ? Number.POSITIVE_INFINITY : 0) : undefined;
  const [stormShown, stormVerdict] = atMost(reconnect?.allSyncedSeconds, 5, "s", `${fmt(reconnect?.clients ?? 0)} clients`);
  rows.push({
    figure: "reconnect storm, 10k clients with pending messages",
    target: "all recovered within 5 s",
    measured: stormShown,
    verdict: storm === Number.POSITIVE_INFINITY ? `missed: ${reconnect?.failed} failed, ${reconnect?.incomplete} incomplete` : stormVerdict,
  });
  return rows;
}

/** Issue 13's figures: the router against the baselines measured in the same direct run. */
export function baselineRows(records: Map<string, ScenarioRecord>): TargetRow[] {
  const direct = result<DirectScenarioResult>(records, "direct");
  const against = (prefix: string) => direct?.comparisons?.find((c) => c.baseline.startsWith(prefix));
  const ceiling = against("ceiling");
  const relay = against("plain relay");
  const ejabberd = against("ejabberd");
  const cpuContext = (c: typeof ceiling): string =>
    c?.cpuAtSameRate ? `at ${fmt(c.cpuAtSameRate.offeredPerSec)} msgs/s offered${c.cpuAtSameRate.bothPassed ? "" : ", where not both passed"}` : "";
  const rows: TargetRow[] = [];
  const add = (figure: string, target: string, [measured, verdict]: [string, string]): void => {
    rows.push({ figure, target, measured, verdict });
  };
  add("server CPU per 1,000 durable direct messages, vs the ceiling prototype at the same offered rate", "≤ 1.3×", atMost(ceiling?.cpuAtSameRate?.ratio, 1.3, "×", cpuContext(ceiling)));
  add("same, vs the plain relay", "≤ 3×", atMost(relay?.cpuAtSameRate?.ratio, 3, "×", cpuContext(relay)));
  add("highest durable direct rate at p99 < 100 ms, vs the ceiling prototype", "≥ 0.9×", atLeast(ceiling?.rateRatio, 0.9, "×"));
  add("same, vs the plain relay", "≥ 0.5×", atLeast(relay?.rateRatio, 0.5, "×"));
  add("highest durable direct rate at p99 < 100 ms (a quiet machine)", "≥ 12,000 msgs/s", atLeast(direct?.router.maxSustainedPerSec, 12_000, "msgs/s"));
  const skipped = direct?.baselines.ejabberd && "skipped" in direct.baselines.ejabberd ? direct.baselines.ejabberd.skipped : undefined;
  rows.push({
    figure: "the incumbent: highest rate and server CPU per 1,000 vs ejabberd",
    target: "shown beside us",
    measured: ejabberd
      ? `${ejabberd.rateRatio === undefined ? "it passed no step of its ramp (p99 over 100 ms from the lowest rate)" : `${fmt(ejabberd.rateRatio)}× its rate`}; ${fmt(ejabberd.cpuAtSameRate?.ratio ?? 0)}× its CPU per message ${cpuContext(ejabberd)}`
      : "not measured",
    verdict: ejabberd ? "—" : skipped ? `skipped: ${skipped}` : "run `npm run bench -- direct`",
  });
  return rows;
}
