import type { DirectRamp, DirectStep } from "./direct-ramp.ts";

/** Ours over theirs, to two decimals; undefined when either side has nothing to divide. */
export const ratioOf = (ours: number | undefined, theirs: number | undefined): number | undefined =>
  ours !== undefined && theirs ? Math.round((100 * ours) / theirs) / 100 : undefined;

/** The issue-13 figures of one ramp against one baseline's ramp from the same run. */
export interface BaselineComparison {
  baseline: string;
  /** Our highest rate at p99 under the limit over theirs (higher is better for us). */
  rateRatio?: number;
  /** Server CPU per 1,000 messages at one offered rate both ran (lower is better for us). */
  cpuAtSameRate?: { offeredPerSec: number; oursMsPer1000: number; theirsMsPer1000: number; ratio?: number; bothPassed: boolean };
  /** p99 at half of each one's own highest rate. */
  halfRateP99?: { oursAtPerSec: number; oursMs: number; theirsAtPerSec: number; theirsMs: number; ratio?: number };
}

/**
 * The offered rate both ramps ran to compare CPU at: the highest that both passed, else (a
 * baseline that could not keep up with our lowest) the highest both ran at all.
 */
function sameRateSteps(ours: DirectRamp, theirs: DirectRamp): { ours: DirectStep; theirs: DirectStep; bothPassed: boolean } | undefined {
  const pairs = ours.steps.flatMap((step) => {
    const match = theirs.steps.find((other) => other.offeredPerSec === step.offeredPerSec);
    return match ? [{ ours: step, theirs: match, bothPassed: step.passed && match.passed }] : [];
  });
  const byRate = (a: { ours: DirectStep }, b: { ours: DirectStep }): number => b.ours.offeredPerSec - a.ours.offeredPerSec;
  return pairs.filter((pair) => pair.bothPassed).sort(byRate)[0] ?? pairs.sort(byRate)[0];
}

export function compareToBaseline(ours: DirectRamp, theirs: DirectRamp): BaselineComparison {
  const comparison: BaselineComparison = { baseline: theirs.system, rateRatio: ratioOf(ours.maxSustainedPerSec, theirs.maxSustainedPerSec) };
  const same = sameRateSteps(ours, theirs);
  if (same) {
    comparison.cpuAtSameRate = {
      offeredPerSec: same.ours.offeredPerSec,
      oursMsPer1000: same.ours.serverCpuMsPer1000,
      theirsMsPer1000: same.theirs.serverCpuMsPer1000,
      ratio: ratioOf(same.ours.serverCpuMsPer1000, same.theirs.serverCpuMsPer1000),
      bothPassed: same.bothPassed,
    };
  }
  if (ours.atHalf && theirs.atHalf) {
    comparison.halfRateP99 = {
      oursAtPerSec: ours.atHalf.offeredPerSec,
      oursMs: ours.atHalf.e2e.p99Ms,
      theirsAtPerSec: theirs.atHalf.offeredPerSec,
      theirsMs: theirs.atHalf.e2e.p99Ms,
      ratio: ratioOf(ours.atHalf.e2e.p99Ms, theirs.atHalf.e2e.p99Ms),
    };
  }
  return comparison;
}
