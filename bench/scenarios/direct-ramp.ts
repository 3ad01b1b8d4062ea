import { summarizeEncoded, type LatencySummary } from "../lib/histogram.ts";
import { readMachineCpuMs } from "../lib/proc.ts";
import type { Progress } from "../lib/progress.ts";
import type { SystemUnderTest } from "../lib/systems.ts";
import { LoadPool, split } from "../load/pool.ts";
import type { ClientSpec, DirectResult, OpenResult } from "../load/protocol.ts";

export interface DirectOptions {
  pairs: number;
  processes: number;
  /** Offered rates (messages per second, all pairs together), tried in order. */
  rates: number[];
  stepSeconds: number;
  drainMs: number;
  bodyBytes: number;
  p99LimitMs: number;
  /** After the ramp, measure again at half the highest sustained rate. */
  halfRateCheck: boolean;
  /** Unrecorded load at the first rate first, so JIT and lazy module loading are not measured. */
  warmupSeconds: number;
}

export interface DirectStep {
  offeredPerSec: number;
  sentPerSec: number;
  deliveredPerSec: number;
  ackedPerSec: number;
  sent: number;
  delivered: number;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  errors: Record<string, number>;
  closes: number;
  e2e: LatencySummary;
  ack: LatencySummary;
  loadLagP99Ms: number;
  serverCpuPercent: number;
  serverCpuMsPer1000: number;
  loadCpuPercent: number;
  /** The load processes' CPU (every thread) per 1,000 messages: what the generator itself costs. */
  loadCpuMsPer1000: number;
  machineCpuPercent: number;
  serverRssKb: number;
  serverDiskBytesPerMessage: number;
  passed: boolean;
}

export interface DirectRamp {
  system: string;
  clients: number;
  steps: DirectStep[];
  maxSustainedPerSec: number;
  atHalf?: DirectStep;
}

/** Users p0..p(2n-1); p(2k) and p(2k+1) chat with each other, both ends in one load process. */
export function pairSpecs(pairs: number, prefix = "p"): ClientSpec[] {
  const specs: ClientSpec[] = [];
  for (let k = 0; k < pairs; k += 1) {
    const a = `${prefix}${2 * k}`;
    const b = `${prefix}${2 * k + 1}`;
    specs.push({ user: a, index: 2 * k + 1, peer: b }, { user: b, index: 2 * k + 2, peer: a });
  }
  return specs;
}

/**
 * Opens `specs` (default: `pairSpecs(pairs)`; either way consecutive [a, b] pairs) across the
 * load processes, keeping both ends of each pair in one process.
 */
export async function openPairs(pool: LoadPool, system: SystemUnderTest, pairs: number, specs: readonly ClientSpec[] = pairSpecs(pairs)): Promise<number> {
  const twos = Array.from({ length: Math.ceil(specs.length / 2) }, (_, k) => specs.slice(2 * k, 2 * k + 2));
  const perProcess = split(twos, pool.size).map((part) => part.flat());
  const results = await pool.each<OpenResult>((index) => ({ type: "open", target: system.target, clients: perProcess[index] ?? [], concurrency: 100 }));
  const failed = results.reduce((sum, result) => sum + result.failed, 0);
  if (failed > 0) throw new Error(`${failed} clients could not connect to ${system.name}: ${results.find((r) => r.firstError)?.firstError}`);
  return results.reduce((sum, result) => sum + result.opened, 0);
}

export async function runDirectStep(pool: LoadPool, system: SystemUnderTest, rate: number, options: DirectOptions): Promise<DirectStep> {
  const cpuBefore = system.cpuMs();
  const diskBefore = system.diskWriteBytes();
  const loadBefore = pool.cpuMs();
  const machineBefore = readMachineCpuMs();
  const results = await pool.all<DirectResult>({
    type: "direct",
    rate: rate / pool.size,
    durationMs: options.stepSeconds * 1000,
    drainMs: options.drainMs,
    bodyBytes: options.bodyBytes,
  });
  const machineAfter = readMachineCpuMs();
  const wallMs = Math.max(...results.map((result) => result.windowMs));
  const serverCpuMs = system.cpuMs() - cpuBefore;
  const loadCpuMs = pool.cpuMs() - loadBefore;
  const sum = (pick: (result: DirectResult) => number): number => results.reduce((total, result) => total + pick(result), 0);
  const errors: Record<string, number> = {};
  for (const result of results) for (const [code, count] of Object.entries(result.errors)) errors[code] = (errors[code] ?? 0) + count;
  const sent = sum((r) => r.sent);
  const delivered = sum((r) => r.delivered);
  const e2e = summarizeEncoded(results.map((r) => r.e2e));
  const deliveredPerSec = Math.round((sum((r) => r.deliveredInWindow) * 1000) / wallMs);
  const lost = Math.max(0, sent - delivered);
  // The drain covers the slowest delivery: a step that needed it all (or lost some) did not keep up.
  const passed = e2e.p99Ms <= options.p99LimitMs && lost === 0 && deliveredPerSec >= 0.95 * rate;
  const machineMs = machineAfter.totalMs - machineBefore.totalMs;
  return {
    offeredPerSec: rate,
    sentPerSec: Math.round((sent * 1000) / wallMs),
    deliveredPerSec,
    ackedPerSec: Math.round((sum((r) => r.acked) * 1000) / wallMs),
    sent,
    delivered,
    lost,
    duplicates: sum((r) => r.duplicates),
    outOfOrder: sum((r) => r.outOfOrder),
    errors,
    closes: sum((r) => r.closes),
    e2e,
    ack: summarizeEncoded(results.map((r) => r.ack)),
    loadLagP99Ms: summarizeEncoded(results.map((r) => r.lag)).p99Ms,
    // CPU covers the window and the drain, as does the delivered count it is divided by.
    serverCpuPercent: Math.round((100 * serverCpuMs) / Math.max(1, machineMs / 2)),
    serverCpuMsPer1000: delivered > 0 ? Math.round((serverCpuMs * 1000 * 100) / delivered) / 100 : 0,
    loadCpuPercent: Math.round((100 * loadCpuMs) / Math.max(1, machineMs / 2)),
    loadCpuMsPer1000: delivered > 0 ? Math.round((loadCpuMs * 1000 * 100) / delivered) / 100 : 0,
    machineCpuPercent: Math.round((100 * (machineAfter.busyMs - machineBefore.busyMs)) / Math.max(1, machineMs)),
    serverRssKb: system.rssKb(),
    serverDiskBytesPerMessage: delivered > 0 ? Math.round((system.diskWriteBytes() - diskBefore) / delivered) : 0,
    passed,
  };
}

function describeStep(step: DirectStep): string {
  const errors = Object.entries(step.errors).map(([code, count]) => `${code}=${count}`).join(" ");
  return (
    `offered ${step.offeredPerSec}/s  delivered ${step.deliveredPerSec}/s  e2e p50 ${step.e2e.p50Ms} p99 ${step.e2e.p99Ms} p999 ${step.e2e.p999Ms} ms` +
    `  server cpu ${step.serverCpuPercent}% (${step.serverCpuMsPer1000} ms/1k)  load cpu ${step.loadCpuPercent}% (${step.loadCpuMsPer1000} ms/1k)` +
    `${step.lost ? `  lost ${step.lost}` : ""}${errors ? `  errors ${errors}` : ""}  ${step.passed ? "ok" : "FAILED"}`
  );
}

/** What a caller may change about a ramp: which clients it opens, and a look at the system once they are connected. */
export interface DirectRampHooks {
  /** The clients, as consecutive [a, b] pairs with `peer` set (default: `pairSpecs(options.pairs)`). */
  specs?: readonly ClientSpec[];
  /** Runs once every client is connected, before the warm-up. */
  afterOpen?(pool: LoadPool): Promise<void>;
}

/** Rising offered load until p99 passes the limit (or the system stops keeping up). */
export async function runDirectRamp(system: SystemUnderTest, options: DirectOptions, progress: Progress, hooks: DirectRampHooks = {}): Promise<DirectRamp> {
  const processCount = Math.max(1, Math.min(options.processes, options.pairs));
  const pool = await LoadPool.start(processCount);
  try {
    const clients = await openPairs(pool, system, options.pairs, hooks.specs);
    progress(`${system.name}: ${clients} clients connected from ${processCount} load processes`);
    await hooks.afterOpen?.(pool);
    if (options.warmupSeconds > 0 && options.rates[0]) {
      await runDirectStep(pool, system, options.rates[0], { ...options, stepSeconds: options.warmupSeconds });
    }
    const steps: DirectStep[] = [];
    let lastPassed: DirectStep | undefined;
    let firstFailedRate: number | undefined;
    for (const rate of options.rates) {
      let step = await runDirectStep(pool, system, rate, options);
      steps.push(step);
      progress(`${system.name}: ${describeStep(step)}`);
      if (!step.passed) {
        // On a shared machine one stall (another process's burst, the disk's fsync latency)
        // can fail a step the system sustains: a failure stops the ramp only if it repeats.
        step = await runDirectStep(pool, system, rate, options);
        steps.push(step);
        progress(`${system.name}: again: ${describeStep(step)}`);
      }
      if (!step.passed) {
        firstFailedRate = rate;
        break;
      }
      lastPassed = step;
    }
    // One step between the last good rate and the first bad one narrows the answer cheaply.
    if (lastPassed && firstFailedRate && firstFailedRate > lastPassed.offeredPerSec * 1.25) {
      const rate = Math.round((lastPassed.offeredPerSec + firstFailedRate) / 2 / 100) * 100;
      const step = await runDirectStep(pool, system, rate, options);
      steps.push(step);
      progress(`${system.name}: ${describeStep(step)}`);
      if (step.passed) lastPassed = step;
    }
    const maxSustainedPerSec = Math.max(0, ...steps.filter((step) => step.passed).map((step) => step.deliveredPerSec));
    let atHalf: DirectStep | undefined;
    if (options.halfRateCheck && maxSustainedPerSec > 0) {
      atHalf = await runDirectStep(pool, system, Math.round(maxSustainedPerSec / 2), options);
      progress(`${system.name}: at half the sustained rate: ${describeStep(atHalf)}`);
    }
    return { system: system.name, clients, steps, maxSustainedPerSec, atHalf };
  } finally {
    await pool.close();
  }
}
