/**
 * The embedded store alone, without the router: how many message appends a second it makes
 * durable across many chats, paced open-loop, with each one's commit latency.
 *
 *   node --import tsx bench/micro/lmdb-append.ts [RATE=1000] [--with-receipts]
 *
 * --with-receipts adds, per message, the recipient's cursor and delivered mark, as an ack
 * does. Prints one JSON line: rate, p50 / p99 / max commit latency (ms), and the bytes the
 * process handed the kernel to write per message (/proc/self/io write_bytes).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openLmdbStores } from "../../src/storage/lmdb/lmdb-stores.ts";

const CHATS = 1000;
const SECONDS = 5;

function writtenBytes(): number {
  return Number(/write_bytes: (\d+)/.exec(readFileSync("/proc/self/io", "utf8"))?.[1] ?? 0);
}

async function main(): Promise<void> {
  const rate = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? 1000);
  const withReceipts = process.argv.includes("--with-receipts");
  const dir = mkdtempSync(join(tmpdir(), "lmdb-append-"));
  const stores = openLmdbStores({ path: join(dir, "lmdb") });
  const total = rate * SECONDS;
  const lastSeq = new Map<string, number>();
  const latencies: number[] = [];
  const writtenBefore = writtenBytes();
  const startedAt = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - startedAt) / 1000) * rate));
      for (; sent < due; sent += 1) {
        const [sender, recipient] = [`u${sent % CHATS}`, `v${sent % CHATS}`];
        const chat = `d:${sender}:${recipient}`;
        const seq = (lastSeq.get(chat) ?? 0) + 1;
        lastSeq.set(chat, seq);
        const appendedAt = performance.now();
        const message = { chat, seq, from: sender, ts: Date.now(), body: "hello there", kind: "text", cid: `c${sent}` };
        void stores.messages.append({ chat, messages: [message], notify: [recipient] }).then(() => {
          latencies.push(performance.now() - appendedAt);
          if (!withReceipts) return;
          void stores.cursors.setCursor(recipient, "phone", chat, seq);
          void stores.receipts.setMarks(chat, recipient, { delivered: seq, read: 0 });
        });
      }
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  while (latencies.length < total) await new Promise((resolve) => setTimeout(resolve, 10));
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.min(total - 1, Math.floor(total * q))]! * 10) / 10;
  console.log(
    JSON.stringify({
      rate,
      withReceipts,
      seconds: Math.round((performance.now() - startedAt) / 100) / 10,
      p50: at(0.5),
      p99: at(0.99),
      max: at(1),
      kbWrittenPerMessage: Math.round((writtenBytes() - writtenBefore) / total / 102.4) / 10,
    }),
  );
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
}

await main();
