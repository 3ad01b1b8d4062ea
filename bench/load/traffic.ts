import { nowNs, sleep } from "../lib/clock.ts";
import { encodeHistogram, recordNs } from "../lib/histogram.ts";
import type { BenchRouterClient } from "./clients/router-client.ts";
import type { LoadClient } from "./clients/types.ts";
import { paced } from "./pacing.ts";
import type { Probe } from "./probe.ts";
import type { DirectResult, GroupStepResult, HotResult } from "./protocol.ts";
import { EventHub, Recorder } from "./recorder.ts";

function nextProbe(client: LoadClient, sentAtNs: number): Probe {
  return { sentAtNs, sender: client.spec.index, n: client.nextN++ };
}

async function drain(recorder: Recorder, expected: () => number, drainMs: number, acksToo: boolean): Promise<void> {
  const deadline = Date.now() + drainMs;
  const settled = (): boolean => recorder.delivered >= expected() && (!acksToo || recorder.acked + errorCount(recorder) >= recorder.sent);
  while (!settled() && Date.now() < deadline) await sleep(5);
}

function errorCount(recorder: Recorder): number {
  return Object.values(recorder.errors).reduce((sum, count) => sum + count, 0);
}

/** Every client with a peer sends to it, round robin, at `rate` messages per second in total. */
export async function runDirect(
  hub: EventHub,
  clients: readonly LoadClient[],
  options: { rate: number; durationMs: number; drainMs: number; bodyBytes: number; acks: boolean },
): Promise<DirectResult> {
  const senders = clients.filter((client) => client.spec.peer !== undefined);
  const recorder = new Recorder();
  hub.current = recorder;
  recorder.windowEndNs = nowNs() + options.durationMs * 1e6;
  const run = await paced(options.rate, options.durationMs, (index, intendedNs, now) => {
    const sender = senders[index % senders.length]!;
    const probe = nextProbe(sender, intendedNs);
    sender.send(sender.spec.peer!, probe, options.bodyBytes);
    recordNs(recorder.lag, now - intendedNs);
  });
  recorder.sent = run.sent;
  await drain(recorder, () => run.sent, options.drainMs, options.acks);
  return {
    sent: recorder.sent,
    delivered: recorder.delivered,
    deliveredInWindow: recorder.deliveredInWindow,
    acked: recorder.acked,
    duplicates: recorder.duplicates,
    outOfOrder: recorder.outOfOrder,
    errors: recorder.errors,
    closes: recorder.closes,
    ...recorder.histograms(),
    windowMs: (run.endNs - run.startNs) / 1e6,
  };
}

/**
 * Closed loop: each client with a peer keeps `window` sends unanswered, sending the next one
 * as each durable `sent` comes back: how fast one chat's single writer makes messages durable.
 */
export async function runHot(hub: EventHub, clients: readonly LoadClient[], options: { window: number; durationMs: number; bodyBytes: number }): Promise<HotResult> {
  const senders = clients.filter((client) => client.spec.peer !== undefined);
  const recorder = new Recorder();
  hub.current = recorder;
  let running = true;
  const sendOne = (sender: LoadClient): void => {
    const probe = nextProbe(sender, nowNs());
    sender.send(sender.spec.peer!, probe, options.bodyBytes);
    recorder.sent += 1;
  };
  hub.afterAnswer = (client) => {
    if (running) sendOne(client);
  };
  const startNs = nowNs();
  for (const sender of senders) for (let i = 0; i < options.window; i += 1) sendOne(sender);
  await sleep(options.durationMs);
  running = false;
  const elapsedMs = (nowNs() - startNs) / 1e6;
  const acked = recorder.acked;
  const delivered = recorder.delivered;
  hub.afterAnswer = undefined;
  await drain(recorder, () => recorder.sent, 5000, true);
  return {
    acked,
    delivered,
    durationMs: elapsedMs,
    ack: encodeHistogram(recorder.ack),
    e2e: encodeHistogram(recorder.e2e),
    errors: recorder.errors,
    outOfOrder: recorder.outOfOrder,
    duplicates: recorder.duplicates,
  };
}

/** Senders post to their groups at `rate` in total; members report when each message reached them. */
export async function runGroupStep(
  hub: EventHub,
  clients: ReadonlyMap<string, LoadClient>,
  options: { senders: Array<{ user: string; chat: string }>; rate: number; durationMs: number; drainMs: number; bodyBytes: number },
): Promise<GroupStepResult> {
  const recorder = new Recorder();
  recorder.trackArrivals = true;
  hub.current = recorder;
  const senders = options.senders.flatMap(({ user, chat }) => {
    const client = clients.get(user) as BenchRouterClient | undefined;
    return client ? [{ client, chat }] : [];
  });
  const run =
    senders.length === 0 || options.rate <= 0
      ? { startNs: nowNs(), endNs: nowNs() + options.durationMs * 1e6, sent: 0 }
      : await paced(options.rate, options.durationMs, (index, intendedNs) => {
          const { client, chat } = senders[index % senders.length]!;
          const probe = nextProbe(client, intendedNs);
          client.send(chat, probe, options.bodyBytes, true);
        });
  if (senders.length === 0) await sleep(options.durationMs);
  recorder.sent = run.sent;
  // Members' processes cannot know how many copies are coming: wait out the drain period.
  await sleep(options.drainMs);
  return {
    sent: run.sent,
    acked: recorder.acked,
    arrivals: [...recorder.arrivals].map(([key, [count, latencyUs]]) => [key, count, latencyUs]),
    errors: recorder.errors,
    windowMs: (run.endNs - run.startNs) / 1e6,
  };
}
