import { nowNs } from "../lib/clock.ts";

export interface PacedRun {
  startNs: number;
  endNs: number;
  sent: number;
}

/**
 * Open-loop load: message i is due at start + i/rate whatever happened to earlier ones, so a
 * slow server cannot slow the offered load down (no coordinated omission). A 1 ms timer sends
 * whatever has come due; `send` gets the intended time, which is what latency is measured from.
 */
export function paced(rate: number, durationMs: number, send: (index: number, intendedNs: number, now: number) => void): Promise<PacedRun> {
  const startNs = nowNs();
  const endNs = startNs + durationMs * 1e6;
  const intervalNs = 1e9 / rate;
  const total = Math.floor((rate * durationMs) / 1000);
  let sent = 0;
  return new Promise((resolve) => {
    const tick = (): void => {
      const now = nowNs();
      const due = Math.min(total, Math.floor((Math.min(now, endNs) - startNs) / intervalNs) + 1);
      while (sent < due) {
        send(sent, startNs + sent * intervalNs, now);
        sent += 1;
      }
      if (now >= endNs) resolve({ startNs, endNs, sent });
      else setTimeout(tick, 1);
    };
    tick();
  });
}
