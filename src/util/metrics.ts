/**
 * The node's metrics: one prom-client registry per node (tests run several nodes in one
 * process, so never the global one). Counters and gauges keep the small call shapes the node
 * always used; histograms are handed out as prom-client objects so hot paths can bind their
 * label values once (`histogram.labels(...)`) and only `observe` per event.
 */
import { performance } from "node:perf_hooks";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

type Labels = Record<string, string>;

/** Increments a counter: by 1 unless told, on the series of `labels` (names declared up front). */
export type CountFn = (amount?: number, labels?: Labels) => void;

/** Latency buckets (seconds) from 100 µs to 30 s: store reads to a slow cross-node sync. */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class Metrics {
  readonly registry = new Registry();
  private readonly samplers = new Map<string, () => number>();

  /**
   * A counter. With `labelNames`, each increment names its series; the unlabelled series is
   * bound once, so the common call is one addition.
   */
  counter(name: string, help: string, labelNames: readonly string[] = []): CountFn {
    const counter = this.counterFamily(name, help, labelNames);
    if (labelNames.length === 0) {
      const bound = counter.labels();
      return (amount = 1) => bound.inc(amount);
    }
    return (amount = 1, labels = {}) => counter.inc(labels, amount);
  }

  /** A counter handed out whole, for callers that bind their series once (`counter.labels(...)`). */
  counterFamily<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter<L>({ name, help, labelNames, registers: [this.registry] });
  }

  /** A gauge read from `sample` at scrape time rather than kept up to date on every change. */
  gauge(name: string, help: string, sample: () => number): void {
    this.samplers.set(name, sample);
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(sample());
      },
    });
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets = LATENCY_BUCKETS): Histogram<L> {
    return new Histogram<L>({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  /**
   * The process' own health: prom-client's default metrics (CPU, RSS, heap, event-loop delay,
   * GC, handles) plus event-loop utilisation, which the defaults lack.
   */
  watchProcess(): void {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    let last = performance.eventLoopUtilization();
    this.gauge("router_event_loop_utilization", "Share of time the event loop was busy since the previous scrape (0-1)", () => {
      const now = performance.eventLoopUtilization();
      const delta = performance.eventLoopUtilization(now, last);
      last = now;
      return delta.utilization;
    });
  }

  /** Current value of one series (a histogram's: its count), for tests and the CLI. */
  async value(name: string, labels: Labels = {}): Promise<number> {
    const sampler = this.samplers.get(name);
    if (sampler) return sampler();
    const metric = this.registry.getSingleMetric(name);
    if (!metric) return 0;
    const data = await metric.get();
    const wanted = Object.entries(labels);
    const countName = `${name}_count`;
    const matches = (series: { labels: object; metricName?: string }) =>
      (String(data.type) !== "histogram" || series.metricName === countName) &&
      wanted.every(([key, value]) => String((series.labels as Labels)[key]) === value) &&
      Object.keys(series.labels).length === wanted.length;
    return data.values.find(matches)?.value ?? 0;
  }

  /** The exposition in Prometheus' text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
