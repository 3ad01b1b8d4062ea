import { EjabberdUnavailableError } from "../baselines/ejabberd/ejabberd-process.ts";
import type { Progress } from "../lib/progress.ts";
import { RouterStartError } from "../lib/router-process.ts";
import { startCeilingSystem, startEjabberdSystem, startNatsSystem, startRelaySystem, startRouterSystem, type SystemUnderTest } from "../lib/systems.ts";
import { compareToBaseline, ratioOf, type BaselineComparison } from "./baseline-ratios.ts";
import { runDirectRamp, type DirectOptions, type DirectRamp } from "./direct-ramp.ts";
import { profileDirect, type ProfiledRun } from "./profile-run.ts";

export interface DirectScenarioOptions extends DirectOptions {
  baselines: boolean;
  /** ejabberd too (installed with bench/baselines/ejabberd/install.sh when missing). */
  ejabberd: boolean;
  profile: boolean;
  profileSeconds: number;
  /** `router node start` flags selecting the CQL + Redis backend (`--scylla HOSTS --redis URL`). */
  cqlFlags: string[];
}

export type Skipped = { skipped: string };

export interface DirectScenarioResult {
  router: DirectRamp;
  baselines: { ceiling?: DirectRamp; relay?: DirectRamp; nats?: DirectRamp; ejabberd?: DirectRamp | Skipped };
  /** Our highest sustained rate over each baseline's, in the same run. */
  ratios: { ceiling?: number; relay?: number; nats?: number; ejabberd?: number };
  /** Every issue-13 figure against each baseline of the same run. */
  comparisons?: BaselineComparison[];
  cql?: DirectRamp | Skipped;
  profile?: ProfiledRun;
  /** The ceiling prototype profiled at the router's profile rate: which costs are the design's own. */
  ceilingProfile?: ProfiledRun;
}

export const DEFAULT_RATES = [250, 500, 1000, 1500, 2000, 3000, 5000, 7500, 10_000, 15_000, 20_000, 30_000, 40_000, 50_000, 60_000, 80_000, 100_000];
/** Coarser steps for `--quick`: the bisection step after the first failure narrows it down. */
export const QUICK_RATES = [250, 1000, 3000, 7500, 15_000, 30_000, 60_000];

/** Direct ramps use the lean clients (router, ceiling, relay): the load generator must not be the limit. */
function lean(start: () => Promise<SystemUnderTest>): () => Promise<SystemUnderTest> {
  return async () => {
    const system = await start();
    if (system.target.kind === "router" || system.target.kind === "relay") system.target.lean = true;
    return system;
  };
}

async function ramp(start: () => Promise<SystemUnderTest>, options: DirectOptions, progress: Progress): Promise<DirectRamp> {
  const system = await lean(start)();
  try {
    return await runDirectRamp(system, options, progress);
  } finally {
    await system.stop();
  }
}

/** A ramp that is skipped, with the reason, when its system cannot start here. */
async function optionalRamp(
  start: () => Promise<SystemUnderTest>,
  options: DirectOptions,
  progress: Progress,
  cannotStart: (error: unknown) => boolean,
): Promise<DirectRamp | Skipped> {
  try {
    return await ramp(start, options, progress);
  } catch (error) {
    if (!cannotStart(error)) throw error;
    const skipped = (error as Error).message.split("\n").slice(0, 3).join(" ");
    progress(`skipped: ${skipped}`);
    return { skipped };
  }
}

const ran = (value: DirectRamp | Skipped | undefined): DirectRamp | undefined => (value && "steps" in value ? value : undefined);

export async function runDirectScenario(options: DirectScenarioOptions, progress: Progress): Promise<DirectScenarioResult> {
  progress(`pairs ${options.pairs}, ${options.stepSeconds} s per step, p99 limit ${options.p99LimitMs} ms`);
  const router = await ramp(() => startRouterSystem({}, "router (lmdb)"), options, progress);
  const result: DirectScenarioResult = { router, baselines: {}, ratios: {} };

  if (options.baselines) {
    result.baselines.ceiling = await ramp(startCeilingSystem, options, progress);
    result.baselines.relay = await ramp(startRelaySystem, options, progress);
    result.baselines.nats = await ramp(startNatsSystem, options, progress);
    if (options.ejabberd) result.baselines.ejabberd = await optionalRamp(startEjabberdSystem, options, progress, (e) => e instanceof EjabberdUnavailableError);
    const { ceiling, relay, nats } = result.baselines;
    const ejabberd = ran(result.baselines.ejabberd);
    result.ratios = {
      ceiling: ratioOf(router.maxSustainedPerSec, ceiling.maxSustainedPerSec),
      relay: ratioOf(router.maxSustainedPerSec, relay.maxSustainedPerSec),
      nats: ratioOf(router.maxSustainedPerSec, nats.maxSustainedPerSec),
      ejabberd: ejabberd ? ratioOf(router.maxSustainedPerSec, ejabberd.maxSustainedPerSec) : undefined,
    };
    result.comparisons = [ceiling, relay, ejabberd, nats].filter((r): r is DirectRamp => r !== undefined).map((theirs) => compareToBaseline(router, theirs));
    progress(`ratios: ${JSON.stringify(result.ratios)}`);
  }

  if (options.cqlFlags.length > 0) {
    result.cql = await optionalRamp(
      () => startRouterSystem({ routerFlags: options.cqlFlags }, "router (cql + redis)"),
      options,
      progress,
      (error) => error instanceof RouterStartError,
    );
  }

  if (options.profile) {
    // Near the sustained limit, where the hot path is hottest but the run still keeps up.
    const rate = Math.max(options.rates[0] ?? 100, Math.round((router.maxSustainedPerSec * 0.9) / 50) * 50);
    progress(`profiling the router at ${rate} msgs/s for ${options.profileSeconds} s`);
    result.profile = await profileDirect(rate, options.profileSeconds, options, progress);
    if (options.baselines) {
      progress(`profiling the ceiling prototype at ${rate} msgs/s for ${options.profileSeconds} s`);
      result.ceilingProfile = await profileDirect(rate, options.profileSeconds, options, progress, "ceiling");
    }
  }
  return result;
}
