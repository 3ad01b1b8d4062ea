import { sleep } from "../lib/clock.ts";
import { readListenOverflows } from "../lib/proc.ts";
import { summarizeEncoded, type LatencySummary } from "../lib/histogram.ts";
import type { Progress } from "../lib/progress.ts";
import { startRouterSystem } from "../lib/systems.ts";
import { LoadPool, split } from "../load/pool.ts";
import type { ClientSpec, OpenResult, ReconnectResult } from "../load/protocol.ts";

export interface ReconnectOptions {
  clients: number;
  /** Messages sent to each client while it is offline. */
  pendingPerClient: number;
  /** Load processes holding the reconnecting clients (plus one for the senders). */
  processes: number;
  senders: number;
  timeoutSeconds: number;
  bodyBytes: number;
  /** The second storm spreads reconnects uniformly over this long, as clients with jitter do. */
  spreadMs: number;
  /**
   * Reconnecting devices on the lean client (load/clients/lean-router-client.ts) rather than
   * `ws` and the full codec: on two cores the generator's CPU is the router's to lose.
   * The senders, which fill the mailboxes before each storm, stay on `ws`.
   */
  leanClients: boolean;
}

export interface StormRun {
  /** 0: every client at the same instant. */
  spreadMs: number;
  clients: number;
  pendingPerClient: number;
  pendingStored: number;
  /** From the moment every client reconnects until the last one has `synced`. */
  allSyncedSeconds: number;
  timeToSynced: LatencySummary;
  failed: number;
  retries: number;
  /** Clients whose `synced` came before all their pending messages. */
  incomplete: number;
  pendingReceived: number;
  serverCpuMs: number;
  /** CPU the reconnecting load processes used meanwhile: whether they, not the router, were the limit. */
  loadCpuMs: number;
  /** Connections the kernel dropped because the router's accept queue was full. */
  listenOverflows: number;
  firstError?: string;
  /** Failed connection attempts by error message, all load processes together. */
  connectErrors: Record<string, number>;
}

export interface ReconnectScenarioResult {
  /** Which client the reconnecting devices ran on (absent in records from before the choice). */
  loadClient?: "lean" | "ws";
  atOnce: StormRun;
  spread: StormRun;
}

/**
 * Every client drops at once (no close handshake, as when a cell tower or a load balancer goes),
 * messages pile up for them, then all reconnect at the same instant: how long until the last
 * device has its backlog and `synced`.
 */
export async function runReconnectScenario(options: ReconnectOptions, progress: Progress): Promise<ReconnectScenarioResult> {
  const system = await startRouterSystem();
  const pool = await LoadPool.start(options.processes + 1);
  const senderProcess = options.processes;
  try {
    const recipients: ClientSpec[] = Array.from({ length: options.clients }, (_, i) => ({ user: `r${i}`, index: i + 1 }));
    const senders: ClientSpec[] = Array.from({ length: options.senders }, (_, i) => ({ user: `s${i}`, index: options.clients + i + 1 }));
    const parts = split(recipients, options.processes);
    // A load process's target holds for its later commands: the recipients' processes then
    // reconnect on the client they opened with.
    const recipientTarget = { ...system.target, lean: options.leanClients };
    const senderTarget = { ...system.target, lean: false };
    const opened = await pool.each<OpenResult>((index) => ({
      type: "open",
      target: index === senderProcess ? senderTarget : recipientTarget,
      clients: index === senderProcess ? senders : (parts[index] ?? []),
      concurrency: 200,
    }));
    const failedToOpen = opened.reduce((sum, result) => sum + result.failed, 0);
    if (failedToOpen > 0) throw new Error(`${failedToOpen} clients could not connect: ${opened.find((r) => r.firstError)?.firstError}`);
    progress(`${options.clients} clients connected and synced (${options.leanClients ? "lean" : "ws"} client), ${options.senders} senders`);

    const storm = async (spreadMs: number): Promise<StormRun> => {
      await pool.each((index) => (index === senderProcess ? undefined : { type: "drop" }));
      await sleep(2000);
      progress(`all ${options.clients} dropped; sending ${options.pendingPerClient} messages to each`);
      const [sent] = await pool.each<{ sent: number; acked: number; errors: Record<string, number> }>((index) =>
        index === senderProcess ? { type: "send-to", recipients: recipients.map((spec) => spec.user), perRecipient: options.pendingPerClient, bodyBytes: options.bodyBytes } : undefined,
      );
      progress(
        `${sent!.acked} of ${sent!.sent} pending messages durable${Object.keys(sent!.errors).length ? ` (errors ${JSON.stringify(sent!.errors)})` : ""}; ` +
          (spreadMs ? `reconnecting over ${spreadMs} ms` : "reconnecting all at once"),
      );
      const cpuBefore = system.cpuMs();
      const loadBefore = pool.cpuMs();
      const overflowsBefore = readListenOverflows();
      const results = await pool.each<ReconnectResult>((index) =>
        index === senderProcess ? undefined : { type: "reconnect", expectPerClient: options.pendingPerClient, timeoutMs: options.timeoutSeconds * 1000, spreadMs },
      );
      const start = Math.min(...results.map((r) => r.startedAtNs));
      const end = Math.max(...results.flatMap((r) => r.syncedAtNs));
      const sum = (pick: (r: ReconnectResult) => number): number => results.reduce((total, r) => total + pick(r), 0);
      const run: StormRun = {
        spreadMs,
        clients: options.clients,
        pendingPerClient: options.pendingPerClient,
        pendingStored: sent!.acked,
        allSyncedSeconds: Math.round((end - start) / 1e6) / 1000,
        timeToSynced: summarizeEncoded(results.map((r) => r.synced)),
        failed: sum((r) => r.failed),
        retries: sum((r) => r.retries),
        incomplete: sum((r) => r.incomplete),
        pendingReceived: sum((r) => r.pendingReceived),
        serverCpuMs: system.cpuMs() - cpuBefore,
        loadCpuMs: pool.cpuMs() - loadBefore,
        listenOverflows: readListenOverflows() - overflowsBefore,
        firstError: results.find((r) => r.firstError)?.firstError,
        connectErrors: {},
      };
      for (const r of results) for (const [message, count] of Object.entries(r.errors)) run.connectErrors[message] = (run.connectErrors[message] ?? 0) + count;
      if (run.retries > 0) progress(`connection errors: ${JSON.stringify(run.connectErrors)}`);
      progress(
        `all synced after ${run.allSyncedSeconds} s (p50 ${run.timeToSynced.p50Ms} ms, p99 ${run.timeToSynced.p99Ms} ms); ` +
          `${run.pendingReceived} pending messages replayed, ${run.incomplete} incomplete, ${run.failed} failed, ${run.retries} retries, ` +
          `${run.listenOverflows} accept-queue overflows, router cpu ${run.serverCpuMs} ms, load cpu ${run.loadCpuMs} ms`,
      );
      return run;
    };
    const atOnce = await storm(0);
    const spread = await storm(options.spreadMs);
    return { loadClient: options.leanClients ? "lean" : "ws", atOnce, spread };
  } finally {
    await pool.close();
    await system.stop();
  }
}
