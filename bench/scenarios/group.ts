import { newHistogram, summarize, type LatencySummary } from "../lib/histogram.ts";
import { readMachineCpuMs } from "../lib/proc.ts";
import type { Progress } from "../lib/progress.ts";
import type { RouterProcessOptions } from "../lib/router-process.ts";
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
  /**
   * Each step runs at least long enough for this many messages: at 10 msgs/s a 5 s step has 50,
   * and its p99 is then just its slowest message.
   */
  minSamples: number;
  drainMs: number;
  p99LimitMs: number;
  bodyBytes: number;
  /** Stop the ramp at the first failed step (a short comparison run measures every rate it names). */
  stopAtFailure: boolean;
  /** Receiving members on the lean client (load/clients/lean-router-client.ts) rather than `ws`. */
  leanMembers: boolean;
}

export interface GroupStep {
  offeredPerSec: number;
  /** How long the step sent (it runs long enough for `minSamples` messages). */
  seconds: number;
  /** Messages measured: the p99 of fewer than 100 is their slowest. */
  samples: number;
  messagesPerSec: number;
  deliveriesPerSec: number;
  /** Per message: time from send until the last online member had it. */
  lastMember: LatencySummary;
  /** Messages some online member never got within the step and its drain. */
  incomplete: number;
  errors: Record<string, number>;
  /** Of one core, over the step and its drain. */
  serverCpuPercent: number;
  /** The load processes (every thread): where it nears the server's, the run measured the generator. */
  loadCpuPercent: number;
  machineCpuPercent: number;
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

/** BENCH_GROUP_PROFILE_DIR=DIR: the measured routers write V8 CPU profiles there (kept after the run). */
function profileOptions(): RouterProcessOptions {
  const dir = process.env.BENCH_GROUP_PROFILE_DIR;
  return dir ? { nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${dir}`] } : {};
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
    const system = await startRouterSystem(profileOptions());
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

async function measureStep(
  system: RouterSystem,
  pool: LoadPool,
  senders: Array<{ user: string; chat: string }>,
  rate: number,
  options: GroupOptions,
): Promise<GroupStep> {
  const seconds = Math.max(options.stepSeconds, Math.ceil(options.minSamples / rate));
  const cpuBefore = system.cpuMs();
  const loadBefore = pool.cpuMs();
  const machineBefore = readMachineCpuMs();
  const results = await pool.all<GroupStepResult>({ type: "group-step", senders, rate, durationMs: seconds * 1000, drainMs: options.drainMs, bodyBytes: options.bodyBytes });
  const machineAfter = readMachineCpuMs();
  const machineMs = Math.max(1, machineAfter.totalMs - machineBefore.totalMs);
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
  const summary = summarize(lastMember);
  return {
    offeredPerSec: rate,
    seconds,
    samples: arrivals.size,
    messagesPerSec: Math.round((sent * 1000) / windowMs),
    deliveriesPerSec: Math.round((deliveries * 1000) / windowMs),
    lastMember: summary,
    incomplete,
    errors,
    // machineMs counts every core's time: two cores make one core's time half of it.
    serverCpuPercent: Math.round((100 * (system.cpuMs() - cpuBefore)) / (machineMs / 2)),
    loadCpuPercent: Math.round((100 * (pool.cpuMs() - loadBefore)) / (machineMs / 2)),
    machineCpuPercent: Math.round((100 * (machineAfter.busyMs - machineBefore.busyMs)) / machineMs),
    passed: summary.p99Ms <= options.p99LimitMs && incomplete === 0,
  };
}

async function measureGroups(system: RouterSystem, pool: LoadPool, acks: boolean, options: GroupOptions, progress: Progress): Promise<GroupRun> {
  // Members of every group are dealt across all load processes, so "the last member" spans processes.
  // Creators (member 0 of each group, all in load process 0) create the groups and send on
  // the `ws` client; the other members only receive and ack, on the lean one unless told not
  // to, so the generator's decoding is not what the last member waits for.
  const creators: ClientSpec[] = [];
  const perProcess: ClientSpec[][] = Array.from({ length: pool.size }, () => []);
  let index = 1;
  for (let g = 0; g < options.groups; g += 1) {
    for (let m = 0; m < options.members; m += 1) (m === 0 ? creators : perProcess[m % pool.size]!).push({ user: memberName(g, m), index: index++ });
  }
  const openedCreators = await pool.each<OpenResult>((i) => (i === 0 ? { type: "open", target: { ...system.target, acks }, clients: creators, concurrency: 10 } : undefined));
  const target = { ...system.target, acks, lean: options.leanMembers };
  const opened = [...openedCreators, ...(await pool.each<OpenResult>((i) => ({ type: "open", target, clients: perProcess[i]!, concurrency: 200 })))];
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
    const step = await measureStep(system, pool, senders, rate, options);
    steps.push(step);
    progress(
      `${rate} group msgs/s for ${step.seconds} s: ${step.deliveriesPerSec} deliveries/s, last member p50 ${step.lastMember.p50Ms} p99 ${step.lastMember.p99Ms} ms` +
        ` of ${step.samples} messages${step.samples < 100 ? " (p99 is the slowest)" : ""}` +
        `${step.incomplete ? `, ${step.incomplete} incomplete` : ""}; server cpu ${step.serverCpuPercent}%, load cpu ${step.loadCpuPercent}%,` +
        ` machine ${step.machineCpuPercent}% ${step.passed ? "ok" : "FAILED"}`,
    );
    if (!step.passed && options.stopAtFailure) break;
  }
  const maxSustainedPerSec = Math.max(0, ...steps.filter((s) => s.passed).map((s) => s.messagesPerSec));
  return { steps, maxSustainedPerSec };
}
