import type { ClientFrame, ServerFrame } from "../protocol/frames.ts";

/** One latency histogram's series, bound once (prom-client's `histogram.labels()`). */
export interface Observe {
  observe(seconds: number): void;
}

export interface LatencyHistograms {
  sendToDurable: Observe;
  durableToDelivered: Observe;
  helloToSynced: Observe;
}

/** What is remembered per connection: when it said hello, and its `send`s not answered yet. */
interface ConnectionTimes {
  helloAt: number;
  synced: boolean;
  /** Made on the connection's first send: an idle connection holds none. */
  sends: Map<number, number> | undefined;
}

// A client that never hears back (answers lost with a dead node) must not grow this forever;
// the connection answers `timeout` itself long before this many are outstanding.
const MAX_OPEN_SENDS = 4096;

/**
 * Latencies as the client sees them, measured where its socket is: a `send` until its `sent`
 * (durable), `hello` until `synced`, and a live message's age when it leaves for a device.
 * Keyed by the connection object, so a closed connection's times go with it.
 */
export class ClientLatency {
  private readonly connections = new WeakMap<object, ConnectionTimes>();

  constructor(private readonly histograms: LatencyHistograms) {}

  /** A validated frame arrived on `connection`. */
  inbound(connection: object, frame: ClientFrame): void {
    if (frame.t === "send") {
      const sends = (this.timesOf(connection).sends ??= new Map());
      if (sends.size >= MAX_OPEN_SENDS) sends.clear();
      sends.set(frame.r, performance.now());
    } else if (frame.t === "hello") {
      const times = this.timesOf(connection);
      times.helloAt = performance.now();
      times.synced = false;
    }
  }

  /** A frame is being handed to `connection`'s socket. */
  outbound(connection: object, frame: ServerFrame): void {
    switch (frame.t) {
      case "sent": {
        const sends = this.connections.get(connection)?.sends;
        const start = sends?.get(frame.r);
        if (start === undefined) return;
        sends!.delete(frame.r);
        this.histograms.sendToDurable.observe((performance.now() - start) / 1000);
        return;
      }
      case "err": {
        if (frame.r !== undefined) this.connections.get(connection)?.sends?.delete(frame.r);
        return;
      }
      case "synced": {
        const times = this.connections.get(connection);
        if (!times || times.synced || times.helloAt === 0) return;
        times.synced = true;
        this.histograms.helloToSynced.observe((performance.now() - times.helloAt) / 1000);
        return;
      }
      case "msg": {
        // Only after `synced`: what a sync replays may be days old, and is not a delivery delay.
        if (!this.connections.get(connection)?.synced) return;
        // The message's timestamp is set by its chat's writer as it is accepted, just before
        // the durable write (wall clock: nodes must keep their clocks in sync, as NTP does).
        this.histograms.durableToDelivered.observe(Math.max(0, Date.now() - frame.ts) / 1000);
        return;
      }
      default:
        return;
    }
  }

  private timesOf(connection: object): ConnectionTimes {
    let times = this.connections.get(connection);
    if (!times) {
      times = { helloAt: 0, synced: false, sends: undefined };
      this.connections.set(connection, times);
    }
    return times;
  }
}
