import { summarizeEncoded, type LatencySummary } from "../lib/histogram.ts";
import type { Progress } from "../lib/progress.ts";
import { startRouterSystem } from "../lib/systems.ts";
import { LoadPool } from "../load/pool.ts";
import type { HotResult, OpenResult } from "../load/protocol.ts";

export interface HotChatOptions {
  /** Sends each of the chat's two members keeps unanswered, one run per value. */
  windows: number[];
  seconds: number;
  bodyBytes: number;
}

export interface HotChatRun {
  window: number;
  durableAckedPerSec: number;
  deliveredPerSec: number;
  ack: LatencySummary;
  e2e: LatencySummary;
  serverCpuPercent: number;
  errors: Record<string, number>;
  outOfOrder: number;
  duplicates: number;
}

export interface HotChatResult {
  runs: HotChatRun[];
  best: { window: number; durableAckedPerSec: number };
  note: string;
}

// The abuse limits (1000 frames/s per connection and per user) would cap one device below what
// one chat can take; the single writer's limit is what this scenario is after.
const UNLIMITED = {
  ROUTER_FRAMES_PER_SECOND: "10000000",
  ROUTER_FRAME_BURST: "10000000",
  ROUTER_USER_FRAMES_PER_SECOND: "10000000",
  ROUTER_USER_FRAME_BURST: "10000000",
};

/** One chat (two members, both sending) as fast as durable acknowledgements come back. */
export async function runHotChatScenario(options: HotChatOptions, progress: Progress): Promise<HotChatResult> {
  const system = await startRouterSystem({ env: UNLIMITED });
  const pool = await LoadPool.start(1);
  const runs: HotChatRun[] = [];
  try {
    const [opened] = await pool.all<OpenResult>({
      type: "open",
      target: system.target,
      clients: [
        { user: "hot-a", index: 1, peer: "hot-b" },
        { user: "hot-b", index: 2, peer: "hot-a" },
      ],
      concurrency: 2,
    });
    if (!opened || opened.failed > 0) throw new Error(`could not connect: ${opened?.firstError}`);
    await pool.all<HotResult>({ type: "hot", window: 8, durationMs: 1000, bodyBytes: options.bodyBytes });
    for (const window of options.windows) {
      const cpuBefore = system.cpuMs();
      const [result] = await pool.all<HotResult>({ type: "hot", window, durationMs: options.seconds * 1000, bodyBytes: options.bodyBytes });
      const r = result!;
      const run: HotChatRun = {
        window,
        durableAckedPerSec: Math.round((r.acked * 1000) / r.durationMs),
        deliveredPerSec: Math.round((r.delivered * 1000) / r.durationMs),
        ack: summarizeEncoded([r.ack]),
        e2e: summarizeEncoded([r.e2e]),
        serverCpuPercent: Math.round((100 * (system.cpuMs() - cpuBefore)) / r.durationMs),
        errors: r.errors,
        outOfOrder: r.outOfOrder,
        duplicates: r.duplicates,
      };
      runs.push(run);
      progress(
        `window ${window} per member: ${run.durableAckedPerSec} durable msgs/s, sent-ack p50 ${run.ack.p50Ms} p99 ${run.ack.p99Ms} ms, ` +
          `delivered ${run.deliveredPerSec}/s, server cpu ${run.serverCpuPercent}%${Object.keys(run.errors).length ? ` errors ${JSON.stringify(run.errors)}` : ""}`,
      );
    }
  } finally {
    await pool.close();
    await system.stop();
  }
  const best = runs.reduce((a, b) => (b.durableAckedPerSec > a.durableAckedPerSec ? b : a), runs[0]!);
  return {
    runs,
    best: { window: best.window, durableAckedPerSec: best.durableAckedPerSec },
    note: "One direct chat, both members sending with a fixed number of sends unanswered each; the per-connection frame rate limit is lifted for this node",
  };
}
