import { nowNs, sleep } from "../lib/clock.ts";
import { encodeHistogram, newHistogram, recordNs } from "../lib/histogram.ts";
import type { LoadClient } from "./clients/types.ts";
import type { ClientSpec, ReconnectResult } from "./protocol.ts";
import { Recorder, type EventHub } from "./recorder.ts";

/**
 * Sends `perRecipient` messages to each recipient, spread over this process's clients, and
 * waits until the router has made every one durable. Senders are paced to stay inside the
 * router's per-connection frame rate limit.
 */
export async function sendToRecipients(
  hub: EventHub,
  clients: readonly LoadClient[],
  options: { recipients: string[]; perRecipient: number; bodyBytes: number },
): Promise<{ sent: number; acked: number; errors: Record<string, number> }> {
  const recorder = new Recorder();
  hub.current = recorder;
  const perSenderPerSecond = 800;
  let index = 0;
  for (const recipient of options.recipients) {
    const sender = clients[index % clients.length]!;
    for (let k = 0; k < options.perRecipient; k += 1) {
      const probe = { sentAtNs: nowNs(), sender: sender.spec.index, n: sender.nextN++ };
      sender.send(recipient, probe, options.bodyBytes);
      recorder.sent += 1;
    }
    index += 1;
    if (index % (clients.length * 10) === 0) await sleep((10 * options.perRecipient * 1000) / perSenderPerSecond);
  }
  const deadline = Date.now() + 120_000;
  while (recorder.acked + Object.values(recorder.errors).reduce((a, b) => a + b, 0) < recorder.sent && Date.now() < deadline) await sleep(20);
  return { sent: recorder.sent, acked: recorder.acked, errors: recorder.errors };
}

/**
 * Clients opened per turn of the load process's event loop in an "at once" storm. Opening
 * thousands of sockets in one synchronous burst held the process for over a second before
 * the first upgrade request was written, so the router sat idle while the generator worked:
 * slices let the requests go out while the rest are being opened, as independent phones would.
 */
const CONNECT_SLICE = 100;

/** Promises resolving one turn of the event loop after another: slice k opens k turns in. */
function connectSlices(count: number): Array<Promise<void>> {
  const slices: Array<Promise<void>> = [Promise.resolve()];
  for (let k = 1; k < count; k += 1) slices.push(slices[k - 1]!.then(() => new Promise<void>((resolve) => setImmediate(resolve))));
  return slices;
}

/**
 * Every given client reconnects at the same instant and says hello; a refused or reset
 * connection retries with exponential backoff and jitter, as the protocol tells clients to.
 */
export async function reconnectAll(
  hub: EventHub,
  specs: readonly ClientSpec[],
  connect: (spec: ClientSpec) => Promise<LoadClient>,
  options: { expectPerClient: number; timeoutMs: number; spreadMs: number },
): Promise<{ result: ReconnectResult; clients: LoadClient[] }> {
  const recorder = new Recorder();
  hub.current = recorder;
  const synced = newHistogram();
  const syncedAtNs: number[] = [];
  const clients: LoadClient[] = [];
  let failed = 0;
  let retries = 0;
  let firstError: string | undefined;
  const errors: Record<string, number> = {};
  const startedAtNs = nowNs();
  const deadline = Date.now() + options.timeoutMs;

  const slices = connectSlices(Math.ceil(specs.length / CONNECT_SLICE));
  await Promise.all(
    specs.map(async (spec, index) => {
      if (options.spreadMs > 0) await sleep(Math.random() * options.spreadMs);
      else await slices[Math.floor(index / CONNECT_SLICE)];
      for (let attempt = 0; ; attempt += 1) {
        try {
          const client = await connect(spec);
          const at = nowNs();
          syncedAtNs.push(at);
          recordNs(synced, at - startedAtNs);
          clients.push(client);
          return;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          firstError ??= message;
          errors[message] = (errors[message] ?? 0) + 1;
          if (Date.now() > deadline) {
            failed += 1;
            return;
          }
          retries += 1;
          await sleep(Math.min(5000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2));
        }
      }
    }),
  );

  let incomplete = 0;
  let pendingReceived = 0;
  for (const spec of specs) {
    const got = recorder.replayed.get(spec.user) ?? 0;
    pendingReceived += got;
    if (got < options.expectPerClient) incomplete += 1;
  }
  return {
    result: { startedAtNs, syncedAtNs, synced: encodeHistogram(synced), clients: specs.length, failed, retries, incomplete, pendingReceived, firstError, errors },
    clients,
  };
}
