import type { Progress } from "../lib/progress.ts";
import { RouterStartError } from "../lib/router-process.ts";
import { startNatsSystem, startRelaySystem, startRouterSystem, type SystemUnderTest } from "../lib/systems.ts";
import { runDirectRamp, type DirectOptions, type DirectRamp } from "./direct-ramp.ts";
import { profileDirect, type ProfiledRun } from "./profile-run.ts";

export interface DirectScenarioOptions extends DirectOptions {
  baselines: boolean;
  profile: boolean;
  profileSeconds: number;
  /** `router node start` flags selecting the CQL + Redis backend (`--scylla HOSTS --redis URL`). */
  cqlFlags: string[];
}

export interface DirectScenarioResult {
  router: DirectRamp;
  baselines: { relay?: DirectRamp; nats?: DirectRamp };
  /** Our highest sustained rate over each baseline's, in the same run. */
  ratios: { relay?: number; nats?: number };
  cql?: DirectRamp | { skipped: string };
  profile?: ProfiledRun;
}

export const DEFAULT_RATES = [250, 500, 1000, 1500, 2000, 3000, 5000, 7500, 10_000, 15_000, 20_000, 30_000, 40_000, 50_000, 60_000, 80_000, 100_000];

async function ramp(start: () => Promise<SystemUnderTest>, options: DirectOptions, progress: Progress): Promise<DirectRamp> {
  const system = await start();
  try {
    return await runDirectRamp(system, options, progress);
  } finally {
    await system.stop();
  }
}

const ratio = (ours: number, theirs: number | undefined): number | undefined =>
  theirs ? Math.round((100 * ours) / theirs) / 100 : undefined;

export async function runDirectScenario(options: DirectScenarioOptions, progress: Progress): Promise<DirectScenarioResult> {
  progress(`pairs ${options.pairs}, ${options.stepSeconds} s per step, p99 limit ${options.p99LimitMs} ms`);
  const router = await ramp(() => startRouterSystem({}, "router (lmdb)"), options, progress);
  const result: DirectScenarioResult = { router, baselines: {}, ratios: {} };

  if (options.baselines) {
    result.baselines.relay = await ramp(startRelaySystem, options, progress);
    result.baselines.nats = await ramp(startNatsSystem, options, progress);
    result.ratios = {
      relay: ratio(router.maxSustainedPerSec, result.baselines.relay.maxSustainedPerSec),
      nats: ratio(router.maxSustainedPerSec, result.baselines.nats.maxSustainedPerSec),
    };
    progress(`ratios: ${JSON.stringify(result.ratios)}`);
  }

  if (options.cqlFlags.length > 0) {
    try {
      result.cql = await ramp(() => startRouterSystem({ routerFlags: options.cqlFlags }, "router (cql + redis)"), options, progress);
    } catch (error) {
      if (!(error instanceof RouterStartError)) throw error;
      result.cql = { skipped: `the node did not start with ${options.cqlFlags.join(" ")}: ${error.message.split("\n").slice(0, 3).join(" ")}` };
      progress(`cql: skipped: ${result.cql.skipped}`);
    }
  }

  if (options.profile) {
    // Near the sustained limit, where the hot path is hottest but the run still keeps up.
    const rate = Math.max(options.rates[0] ?? 100, Math.round((router.maxSustainedPerSec * 0.9) / 50) * 50);
    progress(`profiling the router at ${rate} msgs/s for ${options.profileSeconds} s`);
    result.profile = await profileDirect(rate, options.profileSeconds, options, progress);
  }
  return result;
}
