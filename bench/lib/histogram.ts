import * as hdr from "hdr-histogram-js";

/** Latencies are recorded in microseconds: 1 µs resolution up to 10 minutes, 3 significant digits. */
export type Histogram = hdr.Histogram;

const HIGHEST_US = 600_000_000;

export function newHistogram(): Histogram {
  // The pure-JS build: the WebAssembly one must be initialised asynchronously per process.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3 });
}

/** Records a duration given in nanoseconds; values outside the range are clamped rather than lost. */
export function recordNs(histogram: Histogram, ns: number): void {
  histogram.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(ns / 1000))));
}

/** Histograms cross process boundaries in HdrHistogram's own compressed form. */
export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function mergeEncoded(encoded: readonly string[]): Histogram {
  const total = newHistogram();
  for (const item of encoded) total.add(hdr.decodeFromCompressedBase64(item));
  return total;
}

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

const ms = (us: number): number => Math.round(us) / 1000;

export function summarize(histogram: Histogram): LatencySummary {
  if (histogram.totalCount === 0) return { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
  return {
    count: histogram.totalCount,
    meanMs: ms(histogram.mean),
    p50Ms: ms(histogram.getValueAtPercentile(50)),
    p90Ms: ms(histogram.getValueAtPercentile(90)),
    p99Ms: ms(histogram.getValueAtPercentile(99)),
    p999Ms: ms(histogram.getValueAtPercentile(99.9)),
    maxMs: ms(histogram.maxValue),
  };
}

export function summarizeEncoded(encoded: readonly string[]): LatencySummary {
  return summarize(mergeEncoded(encoded));
}
