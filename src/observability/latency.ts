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
export interface ConnectionTimes {
  helloAt: number;
  synced: boolean;
  /** Made on the connection's first send: an idle connection holds none. */
  sends: Map<number, number> | undefined;
}

// A client that never hears back (answers lost with a dead node) must not grow this forever;
// the connection answers `timeout` itself long before this many are outstanding.
const MAX_OPEN_SENDS = 4096;

/** A connection as ClientLatency sees it: its times live in a field of it, so a frame costs no lookup. */
export interface TimedConnection {
  /** Made by ClientLatency on the connection's hello or first send. */
  latency: ConnectionTimes | undefined;
}

/**
 * Latencies as the client sees them, measured where its socket is: a `send` until its `sent`
 * (durable), `hello` until `synced`, and a live message's age when it leaves for a device.
 * Kept on the connection object, so a closed connection's times go with it.
 */
export class ClientLatency {
  constructor(private readonly histograms: LatencyHistograms) {}

  /** A validated frame arrived on `connection`. */
  inbound(connection: TimedConnection, frame: ClientFrame): void {
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
  outbound(connection: TimedConnection, frame: ServerFrame): void {
    switch (frame.t) {
      case "sent": {
        const start = connection.latency?.sends?.get(frame.r);
        if (start === undefined) return;
        forgetSend(connection.latency!, frame.r);
        this.histograms.sendToDurable.observe((performance.now() - start) / 1000);
        return;
      }
      case "err": {
        if (frame.r !== undefined && connection.latency) forgetSend(connection.latency, frame.r);
        return;
      }
      case "synced": {
        const times = connection.latency;
        if (!times || times.synced || times.helloAt === 0) return;
        times.synced = true;
        this.histograms.helloToSynced.observe((performance.now() - times.helloAt) / 1000);
        return;
      }
      case "msg": {
        // Only after `synced`: what a sync replays may be days old, and is not a delivery delay.
        if (!connection.latency?.synced) return;
        // The message's timestamp is set by its chat's writer as it is accepted, just before
        // the durable write (wall clock: nodes must keep their clocks in sync, as NTP does).
        this.histograms.durableToDelivered.observe(Math.max(0, Date.now() - frame.ts) / 1000);
        return;
      }
      default:
        return;
    }
  }

  private timesOf(connection: TimedConnection): ConnectionTimes {
    return (connection.latency ??= { helloAt: 0, synced: false, sends: undefined });
  }
}

/** Dropped once empty: a connection that stopped sending holds no map. */
function forgetSend(times: ConnectionTimes, r: number): void {
  if (times.sends?.delete(r) && times.sends.size === 0) times.sends = undefined;
}
