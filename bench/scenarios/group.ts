import { newHistogram, summarize, type LatencySummary } from "../lib/histogram.ts";
import type { Progress } from "../lib/progress.ts";
import { startRouterSystem, type RouterSystem } from "../lib/systems.ts";
import { LoadPool } from "../load/pool.ts";
import type { ClientSpec, GroupCreateResult, GroupStepResult, OpenResult } from "../load/protocol.ts";

export interface GroupOptions {
  groups: number;
  members: number;
  processes: number;
  /** Group messages per second, all groups together, tried in order. */
  rates: number[];
  stepSeconds: number;
  drainMs: number;
  p99LimitMs: number;
  bodyBytes: number;
}

export interface GroupStep {
  offeredPerSec: number;
  messagesPerSec: number;
  deliveriesPerSec: number;
  /** Per message: time from send until the last online member had it. */
  lastMember: LatencySummary;
  /** Messages some online member never got within the step and its drain. */
  incomplete: number;
  errors: Record<string, number>;
  passed: boolean;
}

export interface GroupRun {
  steps: GroupStep[];
  maxSustainedPerSec: number;
}

export type GroupScenarioResult =
  | { skipped: string }
  | {
      groups: number;
      members: number;
      /** Members ack what they receive, as the SDK does. */
      withAcks: GroupRun;
      /** The same with members that never ack: the delivery fan-out alone, without each ack's mark update. */
      withoutAcks: GroupRun;
    };

function memberName(group: number, member: number): string {
  return `g${group}-m${member}`;
}

/** Asks the node for a tiny group first: a node without the group protocol answers unknown_type. */
async function probeGroups(system: RouterSystem): Promise<string | undefined> {
  const pool = await LoadPool.start(1);
  try {
    await pool.all<OpenResult>({ type: "open", target: system.target, clients: [{ user: "probe-a", index: 1 }], concurrency: 1 });
    const [answer] = await pool.all<GroupCreateResult>({ type: "group-create", groups: [{ creator: "probe-a", name: "probe", members: ["probe-a", "probe-b"] }] });
    return answer?.unsupported;
  } finally {
    await pool.close();
  }
}

export async function runGroupScenario(options: GroupOptions, progress: Progress): Promise<GroupScenarioResult> {
  const probe = await startRouterSystem();
  let unsupported: string | undefined;
  try {
    unsupported = await probeGroups(probe);
  } finally {
    await probe.stop();
  }
  if (unsupported) {
    const skipped = `this node has no group protocol yet (group.create answered ${unsupported}); the scenario runs once the groups change lands`;
    progress(`skipped: ${skipped}`);
    return { skipped };
  }
  const runs: GroupRun[] = [];
  // A fresh node per variant: mark updates still queued from the first must not slow the second.
  for (const acks of [true, false]) {
    progress(acks ? "members ack what they receive" : "members never ack (fan-out alone)");
    const system = await startRouterSystem();
    const pool = await LoadPool.start(options.processes);
    try {
      runs.push(await measureGroups(system, pool, acks, options, progress));
    } finally {
      await pool.close();
      await system.stop();
    }
  }
  return { groups: options.groups, members: options.members, withAcks: runs[0]!, withoutAcks: runs[1]! };
}

async function measureGroups(system: RouterSystem, pool: LoadPool, acks: boolean, options: GroupOptions, progress: Progress): Promise<GroupRun> {
  // Members of every group are dealt across all load processes, so "the last member" spans processes.
  const perProcess: ClientSpec[][] = Array.from({ length: pool.size }, () => []);
  let index = 1;
  for (let g = 0; g < options.groups; g += 1) {
    for (let m = 0; m < options.members; m += 1) perProcess[m % pool.size]!.push({ user: memberName(g, m), index: index++ });
  }
  const opened = await pool.each<OpenResult>((i) => ({ type: "open", target: { ...system.target, acks }, clients: perProcess[i]!, concurrency: 200 }));
  const failed = opened.reduce((sum, r) => sum + r.failed, 0);
  if (failed > 0) throw new Error(`${failed} members could not connect: ${opened.find((r) => r.firstError)?.firstError}`);
  progress(`${options.groups * options.members} members online`);

  // Creators are member 0 of each group, all in load process 0.
  const groups = Array.from({ length: options.groups }, (_, g) => ({
    creator: memberName(g, 0),
    name: `bench group ${g}`,
    members: Array.from({ length: options.members }, (_, m) => memberName(g, m)),
  }));
  const [created] = await pool.each<GroupCreateResult>((i) => (i === 0 ? { type: "group-create", groups } : undefined));
  if (!created || created.unsupported) throw new Error(`group.create failed: ${created?.unsupported}`);
  const senders = created.chats.map((chat, g) => ({ user: memberName(g, 0), chat }));
  progress(`${created.chats.length} groups of ${options.members} created`);

  // Unrecorded: the first messages pay for JIT compilation and lazy module loading.
  await pool.all<GroupStepResult>({ type: "group-step", senders, rate: options.rates[0] ?? 10, durationMs: 2000, drainMs: options.drainMs, bodyBytes: options.bodyBytes });
  const steps: GroupStep[] = [];
  for (const rate of options.rates) {
    const results = await pool.all<GroupStepResult>({ type: "group-step", senders, rate, durationMs: options.stepSeconds * 1000, drainMs: options.drainMs, bodyBytes: options.bodyBytes });
    const arrivals = new Map<string, [number, number]>();
    for (const result of results) {
      for (const [key, count, latencyUs] of result.arrivals) {
        const entry = arrivals.get(key);
        if (entry) {
          entry[0] += count;
          entry[1] = Math.max(entry[1], latencyUs);
        } else arrivals.set(key, [count, latencyUs]);
      }
    }
    const sent = results.reduce((sum, r) => sum + r.sent, 0);
    const expected = options.members - 1;
    const lastMember = newHistogram();
    let deliveries = 0;
    let incomplete = sent - arrivals.size;
    for (const [count, latencyUs] of arrivals.values()) {
      deliveries += count;
      if (count < expected) incomplete += 1;
      lastMember.recordValue(Math.max(1, latencyUs));
    }
    const errors: Record<string, number> = {};
    for (const r of results) for (const [code, n] of Object.entries(r.errors)) errors[code] = (errors[code] ?? 0) + n;
    const windowMs = Math.max(...results.map((r) => r.windowMs));
    const step: GroupStep = {
      offeredPerSec: rate,
      messagesPerSec: Math.round((sent * 1000) / windowMs),
      deliveriesPerSec: Math.round((deliveries * 1000) / windowMs),
      lastMember: summarize(lastMember),
      incomplete,
      errors,
      passed: false,
    };
    step.passed = step.lastMember.p99Ms <= options.p99LimitMs && incomplete === 0;
    steps.push(step);
    progress(
      `${rate} group msgs/s: ${step.deliveriesPerSec} deliveries/s, last member p50 ${step.lastMember.p50Ms} p99 ${step.lastMember.p99Ms} ms` +
        `${incomplete ? `, ${incomplete} incomplete` : ""} ${step.passed ? "ok" : "FAILED"}`,
    );
    if (!step.passed) break;
  }
  const maxSustainedPerSec = Math.max(0, ...steps.filter((s) => s.passed).map((s) => s.messagesPerSec));
  return { steps, maxSustainedPerSec };
}
