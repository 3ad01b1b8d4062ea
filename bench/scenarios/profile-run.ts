import { copyFileSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nowNs } from "../lib/clock.ts";
import { summarizeCpuProfile, type ProfileSummary } from "../lib/cpu-profile.ts";
import { readThreadCpuMs } from "../lib/proc.ts";
import type { Progress } from "../lib/progress.ts";
import { startCeilingSystem, startRouterSystem, type SystemUnderTest } from "../lib/systems.ts";
import { LoadPool } from "../load/pool.ts";
import { openPairs, runDirectStep, type DirectOptions, type DirectStep } from "./direct-ramp.ts";

export interface ThreadCpu {
  thread: string;
  cpuMs: number;
  percentOfProcess: number;
}

export interface ProfiledRun {
  rate: number;
  seconds: number;
  step: DirectStep;
  profile: ProfileSummary;
  /** The main (JS) thread against the others: libuv's pool runs lmdb's commits, V8's helpers run GC. */
  threads: ThreadCpu[];
}

/** A server started with `--cpu-prof`: its process, and where its profile lands once it stops. */
interface ProfiledSystem {
  system: SystemUnderTest;
  pid: number;
  profilePath(): string | undefined;
  cleanup(): void;
}

async function startProfiledRouter(): Promise<ProfiledSystem> {
  const system = await startRouterSystem({ nodeFlags: ["--cpu-prof", "--cpu-prof-dir={profileDir}"] }, "router (profiled)");
  const router = system.router;
  // The system's own stop removes the data directory, and the profile in it: stop the process only.
  const keepingProfile = { ...system, stop: () => router.stop() };
  return { system: keepingProfile, pid: router.pid, profilePath: () => router.cpuProfilePath(), cleanup: () => router.removeData() };
}

async function startProfiledCeiling(): Promise<ProfiledSystem> {
  const dir = mkdtempSync(join(tmpdir(), "ceiling-profile-"));
  const system = await startCeilingSystem(["--cpu-prof", `--cpu-prof-dir=${dir}`]);
  return { system, pid: system.pid, profilePath: () => largestProfileIn(dir), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function largestProfileIn(dir: string): string | undefined {
  const files = readdirSync(dir).filter((name) => name.endsWith(".cpuprofile"));
  return files.map((name) => join(dir, name)).sort((a, b) => statSync(b).size - statSync(a).size)[0];
}

/**
 * The direct load once more at a fixed rate on a server started with `--cpu-prof` (the
 * router, or the ceiling prototype at the same rate to compare with), kept apart from the
 * measured ramp so the profiler's own cost does not touch those numbers. Only samples taken
 * while the load ran count (the profile's clock is CLOCK_MONOTONIC too).
 */
export async function profileDirect(
  rate: number,
  seconds: number,
  options: DirectOptions,
  progress: Progress,
  which: "router" | "ceiling" = "router",
): Promise<ProfiledRun | undefined> {
  const profiled = which === "router" ? await startProfiledRouter() : await startProfiledCeiling();
  const { system, pid } = profiled;
  // The same lean client as the ramps, so the profile is of the load the ramps measured.
  system.target.lean = true;
  const pool = await LoadPool.start(Math.max(1, Math.min(options.processes, options.pairs)));
  let step: DirectStep;
  let window: { startUs: number; endUs: number };
  let before = new Map<number, { name: string; cpuMs: number }>();
  let after = before;
  try {
    await openPairs(pool, system, options.pairs);
    await runDirectStep(pool, system, rate, { ...options, stepSeconds: Math.max(1, options.warmupSeconds) });
    before = readThreadCpuMs(pid);
    const startUs = nowNs() / 1000;
    step = await runDirectStep(pool, system, rate, { ...options, stepSeconds: seconds });
    window = { startUs, endUs: nowNs() / 1000 };
    after = readThreadCpuMs(pid);
  } finally {
    await pool.close();
    await system.stop();
  }
  const path = profiled.profilePath();
  if (!path) {
    progress(`the profiled ${which} wrote no .cpuprofile`);
    profiled.cleanup();
    return undefined;
  }
  const profile = summarizeCpuProfile(path, window);
  // BENCH_KEEP_PROFILES=DIR keeps the raw profile for a closer look (e.g. in Chrome's DevTools).
  const keepIn = process.env.BENCH_KEEP_PROFILES;
  if (keepIn) copyFileSync(path, join(keepIn, `${which}-${rate}.cpuprofile`));
  profiled.cleanup();

  const deltas = [...after].map(([tid, { name, cpuMs }]) => ({ tid, name, cpuMs: cpuMs - (before.get(tid)?.cpuMs ?? 0) }));
  const processMs = deltas.reduce((sum, entry) => sum + entry.cpuMs, 0);
  const mainMs = deltas.find((entry) => entry.tid === pid)?.cpuMs ?? 0;
  const others = deltas.filter((entry) => entry.tid !== pid && entry.cpuMs > 0).sort((a, b) => b.cpuMs - a.cpuMs);
  const share = (ms: number): number => Math.round((1000 * ms) / Math.max(1, processMs)) / 10;
  const threads: ThreadCpu[] = [
    { thread: "main (JavaScript, uWS, lmdb reads)", cpuMs: mainMs, percentOfProcess: share(mainMs) },
    ...others.map((entry) => ({ thread: `${entry.name} (#${entry.tid - pid})`, cpuMs: entry.cpuMs, percentOfProcess: share(entry.cpuMs) })),
  ];
  progress(`profile: ${profile.busyMs} ms busy of ${profile.windowMs} ms on the main thread; main thread ${share(mainMs)}% of the process's CPU`);
  return { rate, seconds, step, profile, threads };
}
