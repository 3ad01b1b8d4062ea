import { nowNs } from "../lib/clock.ts";
import { encodeHistogram, newHistogram, recordNs, type Histogram } from "../lib/histogram.ts";
import type { Probe } from "./probe.ts";
import type { ClientEvents, LoadClient } from "./clients/types.ts";

/**
 * Accounting for one measurement window of a load process: every probe received is checked
 * against its sender's stream (exactly once, in order) and its latency recorded.
 */
export class Recorder {
  readonly e2e: Histogram = newHistogram();
  readonly ack: Histogram = newHistogram();
  readonly lag: Histogram = newHistogram();
  sent = 0;
  delivered = 0;
  deliveredInWindow = 0;
  acked = 0;
  duplicates = 0;
  outOfOrder = 0;
  closes = 0;
  readonly errors: Record<string, number> = {};
  /** Group messages: `${sender}:${n}` → [arrivals here, latest arrival's latency in µs]. */
  readonly arrivals = new Map<string, [number, number]>();
  trackArrivals = false;
  /** Probes handed over during the hello sync, per user (reconnect storm). */
  readonly replayed = new Map<string, number>();
  windowEndNs = Number.POSITIVE_INFINITY;

  onProbe(client: LoadClient, probe: Probe, replayed: boolean): void {
    const now = nowNs();
    const last = client.lastFrom.get(probe.sender) ?? 0;
    if (probe.n <= last) {
      this.duplicates += 1;
      return;
    }
    if (probe.n !== last + 1) this.outOfOrder += 1;
    client.lastFrom.set(probe.sender, probe.n);
    this.delivered += 1;
    if (now <= this.windowEndNs) this.deliveredInWindow += 1;
    const latencyNs = now - probe.sentAtNs;
    recordNs(this.e2e, latencyNs);
    if (replayed) this.replayed.set(client.spec.user, (this.replayed.get(client.spec.user) ?? 0) + 1);
    if (this.trackArrivals) {
      const key = `${probe.sender}:${probe.n}`;
      const entry = this.arrivals.get(key);
      const latencyUs = Math.round(latencyNs / 1000);
      if (entry) {
        entry[0] += 1;
        entry[1] = Math.max(entry[1], latencyUs);
      } else {
        this.arrivals.set(key, [1, latencyUs]);
      }
    }
  }

  onAnswer(ns: number, errorCode: string | undefined): void {
    if (errorCode === undefined) {
      this.acked += 1;
      recordNs(this.ack, ns);
    } else {
      this.errors[errorCode] = (this.errors[errorCode] ?? 0) + 1;
    }
  }

  histograms(): { e2e: string; ack: string; lag: string } {
    return { e2e: encodeHistogram(this.e2e), ack: encodeHistogram(this.ack), lag: encodeHistogram(this.lag) };
  }
}

/** Routes client events to whichever recorder is current, plus process-wide counters. */
export class EventHub implements ClientEvents {
  current = new Recorder();
  pings = 0;
  closes = 0;
  readonly closeCodes: Record<string, number> = {};
  /** Called after a durable answer, for closed-loop senders (hot chat). */
  afterAnswer: ((client: LoadClient) => void) | undefined;

  probe(client: LoadClient, probe: Probe, replayed: boolean): void {
    this.current.onProbe(client, probe, replayed);
  }

  answer(client: LoadClient, ns: number, errorCode: string | undefined): void {
    this.current.onAnswer(ns, errorCode);
    this.afterAnswer?.(client);
  }

  ping(): void {
    this.pings += 1;
  }

  closed(_client: LoadClient, code: number): void {
    this.closes += 1;
    this.current.closes += 1;
    this.closeCodes[code] = (this.closeCodes[code] ?? 0) + 1;
  }
}
