import type { ServerFrame } from "../../src/protocol/frames.ts";
import type { RouterClient } from "../../sdk/client.ts";

export interface FloodResult {
  /** Pings answered `pong`, per client. */
  accepted: number[];
  /** Pings answered `err` `rate_limited`, per client. */
  limited: number[];
  /** From the first ping sent to the last answer received. */
  elapsedSeconds: number;
}

/**
 * Sends `count` pings from every client as fast as the sockets take them and waits until each
 * one is answered, `pong` or `rate_limited` (with the ping's `r`, so every one is accounted for).
 */
export async function floodWithPings(clients: RouterClient[], count: number, timeoutMs = 60_000): Promise<FloodResult> {
  const base = (i: number) => 1_000_000 * (i + 1);
  const tally = (client: RouterClient, i: number) => {
    let accepted = 0;
    let limited = 0;
    for (const f of client.frames) {
      const r = (f as { r?: unknown }).r;
      if (typeof r !== "number" || r < base(i) || r >= base(i) + count) continue;
      if (f.t === "pong") accepted += 1;
      else if (f.t === "err" && f.code === "rate_limited") limited += 1;
    }
    return { accepted, limited };
  };
  const startedAt = performance.now();
  for (const [i, client] of clients.entries()) {
    for (let n = 0; n < count; n += 1) client.sendRaw({ t: "ping", r: base(i) + n });
  }
  await Promise.all(
    clients.map((client, i) =>
      client.waitFor((_: ServerFrame) => {
        const { accepted, limited } = tally(client, i);
        return accepted + limited >= count;
      }, timeoutMs),
    ),
  );
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  const counts = clients.map(tally);
  return { accepted: counts.map((c) => c.accepted), limited: counts.map((c) => c.limited), elapsedSeconds };
}

/** Tries `attempt` until it resolves, pausing briefly between tries, up to a generous deadline. */
export async function eventually<T>(attempt: () => Promise<T>, deadlineMs = 30_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
