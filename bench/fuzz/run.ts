/**
 * `npm run fuzz -- --frames N [--seed S] [--connections C] [--pre-hello P] [--batch B] [--no-write]`
 *
 * Drives a live router process with structure-aware random and mutated frames from many
 * connections, and after every batch checks that the node still answers /healthz, that a
 * control pair of clients still exchanges messages in order, and that its memory stays
 * bounded. Prints the seed first: `--seed` replays the same inputs.
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { signToken } from "../../src/auth/tokens.ts";
import { decodeValue, encodeValue } from "../../src/protocol/codec.ts";
import { directChatId, type MessageFrame } from "../../src/protocol/frames.ts";
import { RouterClient } from "../../sdk/client.ts";
import { sleep } from "../lib/clock.ts";
import { makeRecord, RESULTS_DIR, writeRecord } from "../lib/results.ts";
import { RouterProcess } from "../lib/router-process.ts";
import { nextInput, type FuzzInput, type Mutation } from "./generate.ts";
import { Rng } from "./prng.ts";
import { discoverFrameTypes, frameShapes, type FuzzContext } from "./shapes.ts";

export interface FuzzOptions {
  frames: number;
  seed: number;
  /** Connections that say hello first: frames after hello. */
  connections: number;
  /** Connections that never say hello themselves: frames before hello (a fuzzed `hello` may still succeed). */
  preHello: number;
  /** Frames between two rounds of checks. */
  batchFrames: number;
  /** Per-connection send rate, kept under the node's limit (1000/s sustained, burst 2000 by default). */
  framesPerSecondPerConnection: number;
  /** The node's RSS may grow at most this much over the run. */
  maxRssGrowthMb: number;
  /** Messages the control pair exchanges after each batch. */
  controlMessages: number;
  /** Extra environment for the node (its rate limits, for instance). */
  nodeEnv: Record<string, string>;
  log: (line: string) => void;
}

export const DEFAULT_OPTIONS: Omit<FuzzOptions, "frames" | "seed"> = {
  connections: 16,
  preHello: 24,
  batchFrames: 20_000,
  framesPerSecondPerConnection: 800,
  maxRssGrowthMb: 512,
  controlMessages: 5,
  nodeEnv: {},
  log: (line) => process.stderr.write(`fuzz: ${line}\n`),
};

export interface BatchCheck {
  frames: number;
  healthz: boolean;
  controlInOrder: boolean;
  rssKb: number;
  seconds: number;
}

export interface FuzzResult {
  seed: number;
  frames: number;
  /** Pings sent after frames that may close a connection, and every 100 frames, to pace the run. */
  probes: number;
  batches: number;
  crashes: number;
  crash?: string;
  /** router_actor_restarts_total over the run, by actor kind. */
  restarts: Record<string, number>;
  /** `err` frames received by the fuzzing connections, by code. */
  errorsByCode: Record<string, number>;
  /** router_frames_rejected_total over the run, by code. */
  rejectedByCode: Record<string, number>;
  closesByCode: Record<string, number>;
  reconnects: number;
  probeTimeouts: number;
  /** Frames holding an extension type or 0xc1 after which the connection was still open (must be 0). */
  extensionFramesKeptOpen: number;
  framesByMutation: Record<string, number>;
  framesByType: Record<string, number>;
  /** Frame types validate.ts knows that the shape table does not: fuzzed with a generic shape. */
  genericTypes: string[];
  healthFailures: number;
  controlFailures: string[];
  controlMessagesExchanged: number;
  rss: { beforeKb: number; afterKb: number; maxKb: number; boundKb: number; bounded: boolean };
  checks: BatchCheck[];
  durationSeconds: number;
  framesPerSecond: number;
  nodeEnv: Record<string, string>;
  options: Omit<FuzzOptions, "log" | "nodeEnv">;
}

const PROBE_R_BASE = 10 ** 13;
const PROBE_EVERY = 100;
const ANSWER_DEADLINE_MS = 120_000;

function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/** A client-side token bucket: the fuzz must not be answered `rate_limited` for its pace alone. */
class Pacer {
  private tokens: number;
  private last = performance.now();
  constructor(private readonly rate: number) {
    this.tokens = rate / 4;
  }
  async take(): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.tokens = Math.min(this.rate / 4, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - this.tokens) * 1000) / this.rate));
    }
  }
}

interface Shared {
  url: string;
  result: FuzzResult;
  groups: string[];
  nextProbe: number;
}

/** One fuzzing connection: reopened (and, if it is a hello slot, re-authenticated) whenever the node closes it. */
class Slot {
  private socket: WebSocket | undefined;
  private readonly waiting = new Map<number, (ok: boolean) => void>();
  private closed: Promise<void> = Promise.resolve();
  private sinceProbe = 0;
  readonly pacer: Pacer;

  constructor(
    private readonly shared: Shared,
    readonly user: string,
    private readonly token: string | undefined,
    rate: number,
  ) {
    this.pacer = new Pacer(rate);
  }

  private get open(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  async ensureOpen(): Promise<void> {
    for (let attempt = 0; !this.open; attempt++) {
      if (attempt > 0) await sleep(Math.min(1000, 50 * attempt));
      if (attempt > 100) throw new Error(`${this.user}: cannot connect`);
      if (this.socket) this.shared.result.reconnects++;
      await this.connect();
      if (this.token && this.open) {
        // `hello` is paced like any frame.
        await this.pacer.take();
        if (!(await this.request({ t: "hello", token: this.token }))) this.socket?.terminate();
      }
    }
  }

  private async connect(): Promise<void> {
    const socket = new WebSocket(this.shared.url, { maxPayload: 16 * 1024 * 1024 });
    socket.binaryType = "nodebuffer";
    this.socket = socket;
    socket.on("error", () => undefined);
    socket.on("message", (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    this.closed = new Promise((resolve) =>
      socket.once("close", (code: number) => {
        bump(this.shared.result.closesByCode, String(code));
        for (const answer of this.waiting.values()) answer(false);
        this.waiting.clear();
        resolve();
      }),
    );
    await new Promise<void>((resolve) => {
      socket.once("open", () => resolve());
      socket.once("close", () => resolve());
    });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (!isBinary) return;
    let frame: { t?: unknown; r?: unknown; code?: unknown; chat?: unknown };
    try {
      frame = decodeValue(data) as typeof frame;
    } catch {
      bump(this.shared.result.errorsByCode, "undecodable_server_frame");
      return;
    }
    if (frame.t === "err") bump(this.shared.result.errorsByCode, String(frame.code));
    if (frame.t === "group" && typeof frame.chat === "string" && !this.shared.groups.includes(frame.chat)) {
      this.shared.groups.push(frame.chat);
      if (this.shared.groups.length > 64) this.shared.groups.shift();
    }
    if (typeof frame.r === "number" && frame.r >= PROBE_R_BASE) {
      this.waiting.get(frame.r)?.(frame.t !== "err" || frame.code !== "unauthorized");
      this.waiting.delete(frame.r);
    }
  }

  /** Sends a frame with a probe `r` and waits for its answer, or the connection's close. */
  private request(frame: Record<string, unknown>): Promise<boolean> {
    const r = PROBE_R_BASE + this.shared.nextProbe++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(r);
        this.shared.result.probeTimeouts++;
        resolve(false);
      }, ANSWER_DEADLINE_MS);
      this.waiting.set(r, (ok) => {
        clearTimeout(timer);
        resolve(ok);
      });
      this.socket!.send(encodeValue({ ...frame, r }));
    });
  }

  async send(input: FuzzInput): Promise<void> {
    await this.ensureOpen();
    await this.pacer.take();
    this.socket!.send(input.data, { binary: typeof input.data !== "string" });
    this.sinceProbe++;
    if (input.mayClose || this.sinceProbe >= PROBE_EVERY) {
      // Waits until the node has handled what was sent: the run is paced by the node, and a
      // frame that closed the connection is not followed by frames nobody reads.
      this.sinceProbe = 0;
      await this.pacer.take();
      const open = this.open;
      if (open) this.shared.result.probes++;
      const answered = open && (await this.request({ t: "ping" }));
      // The protocol has no extension types: the node must have refused the frame and closed.
      if (input.mutation === "extension_type" && answered) this.shared.result.extensionFramesKeptOpen++;
    }
  }

  async close(): Promise<void> {
    if (!this.socket) return;
    this.socket.close();
    await Promise.race([this.closed, sleep(5000)]);
    this.socket.terminate();
  }
}

function sumSeries(metrics: Map<string, number>, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [series, value] of metrics) {
    if (!series.startsWith(`${name}{`) && series !== name) continue;
    const match = new RegExp(`${label}="([^"]*)"`).exec(series);
    bump(out, match?.[1] ?? "", value);
  }
  return out;
}

function difference(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) if (value - (before[key] ?? 0) !== 0) out[key] = value - (before[key] ?? 0);
  return out;
}

async function healthy(router: RouterProcess): Promise<boolean> {
  try {
    const response = await fetch(`${router.httpUrl}/healthz`, { signal: AbortSignal.timeout(30_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** The control pair: `count` messages from a to b, each must arrive, once, in order. */
class ControlPair {
  private sent = 0;
  private constructor(
    private a: RouterClient,
    private b: RouterClient,
    private readonly connect: (user: string) => Promise<RouterClient>,
  ) {}

  static async open(connect: (user: string) => Promise<RouterClient>): Promise<ControlPair> {
    return new ControlPair(await connect("ctl-a"), await connect("ctl-b"), connect);
  }

  /** Undefined when all is well; otherwise what went wrong. */
  async exchange(count: number, tag: string): Promise<string | undefined> {
    const chat = directChatId("ctl-a", "ctl-b");
    try {
      if (this.a.closed || this.b.closed) return `a control client was closed (${JSON.stringify(this.a.closed ?? this.b.closed)})`;
      const bodies: string[] = [];
      for (let i = 0; i < count; i++) {
        const body = `${tag}-${i}`;
        bodies.push(body);
        const answer = await this.a.request({ t: "send", cid: `ctl-${tag}-${i}`, to: "ctl-b", body });
        if (answer.t !== "sent") return `send answered ${answer.t}`;
      }
      this.sent += count;
      const received: MessageFrame[] = await this.b.waitForMessages(this.sent, chat, ANSWER_DEADLINE_MS);
      const last = received.slice(-count).map((m) => (typeof m.body === "string" ? m.body : Buffer.from(m.body).toString()));
      if (received.length !== this.sent) return `received ${received.length} messages, sent ${this.sent}`;
      if (JSON.stringify(last) !== JSON.stringify(bodies)) return `out of order: ${JSON.stringify(last)}`;
      const seqs = received.map((m) => m.seq);
      if (seqs.some((s, i) => i > 0 && s <= seqs[i - 1]!)) return "seqs not increasing";
      return undefined;
    } catch (error) {
      // Reopen so one failure is not counted again on every later batch.
      await Promise.allSettled([this.a.close(), this.b.close()]);
      this.a = await this.connect("ctl-a");
      this.b = await this.connect("ctl-b");
      this.sent = this.b.messages.filter((m) => m.chat === chat).length;
      return `control exchange failed: ${(error as Error).message}`;
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.a.close(), this.b.close()]);
  }
}

function slotRng(seed: number, index: number): Rng {
  return new Rng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzResult> {
  const startedAt = performance.now();
  const { log } = options;
  const discovered = discoverFrameTypes();
  const { shapes, generic } = frameShapes(discovered);
  const names = [...shapes.keys()];
  log(`seed ${options.seed}: ${options.frames} frames of ${names.length} shapes (${generic.length ? `generic for ${generic.join(", ")}` : "every validated type has a shape"})`);

  const router = await RouterProcess.start({ env: options.nodeEnv });
  const result: FuzzResult = {
    seed: options.seed,
    frames: 0,
    probes: 0,
    batches: 0,
    crashes: 0,
    restarts: {},
    errorsByCode: {},
    rejectedByCode: {},
    closesByCode: {},
    reconnects: 0,
    probeTimeouts: 0,
    extensionFramesKeptOpen: 0,
    framesByMutation: {},
    framesByType: {},
    genericTypes: generic,
    healthFailures: 0,
    controlFailures: [],
    controlMessagesExchanged: 0,
    rss: { beforeKb: 0, afterKb: 0, maxKb: 0, boundKb: 0, bounded: true },
    checks: [],
    durationSeconds: 0,
    framesPerSecond: 0,
    nodeEnv: options.nodeEnv,
    options: {
      frames: options.frames,
      seed: options.seed,
      connections: options.connections,
      preHello: options.preHello,
      batchFrames: options.batchFrames,
      framesPerSecondPerConnection: options.framesPerSecondPerConnection,
      maxRssGrowthMb: options.maxRssGrowthMb,
      controlMessages: options.controlMessages,
    },
  };
  const shared: Shared = { url: router.url, result, groups: [], nextProbe: 0 };
  const tokenFor = (user: string) => signToken(router.secret, { user }, 24 * 3600);
  const slots: Slot[] = [];
  const hellos = Array.from({ length: 16 }, (_, i) => `fzh${i}`);
  for (let i = 0; i < options.connections; i++) slots.push(new Slot(shared, `fz${i}`, await tokenFor(`fz${i}`), options.framesPerSecondPerConnection));
  for (let i = 0; i < options.preHello; i++) slots.push(new Slot(shared, `fzp${i}`, undefined, options.framesPerSecondPerConnection));
  const users = [...slots.map((s) => s.user), ...hellos];
  const tokens = await Promise.all(hellos.map(tokenFor));
  const contexts: FuzzContext[] = slots.map((slot, i) => ({ rng: slotRng(options.seed, i), self: slot.user, users, groups: shared.groups, tokens }));

  const control = await ControlPair.open(async (user) => RouterClient.connect({ url: router.url, token: await tokenFor(user) }));
  const before = await router.metrics();
  result.rss.beforeKb = router.memory().rssKb;
  result.rss.boundKb = result.rss.beforeKb + options.maxRssGrowthMb * 1024;
  result.rss.maxKb = result.rss.beforeKb;
  log(`node pid ${router.pid} on ${router.url}, RSS ${Math.round(result.rss.beforeKb / 1024)} MB`);

  try {
    let batchStart = performance.now();
    while (result.frames < options.frames) {
      const batch = Math.min(options.batchFrames, options.frames - result.frames);
      let left = batch;
      let crashed = false;
      await Promise.all(
        slots.map(async (slot, i) => {
          const c = contexts[i]!;
          while (left > 0 && !crashed) {
            left--;
            let input = nextInput(c.rng, shapes, names, c);
            // Hello slots are dearer to reopen: most connection-closing inputs go before hello.
            if (i < options.connections && input.mayClose && c.rng.chance(0.75)) input = nextInput(c.rng, shapes, names, c);
            bump(result.framesByMutation, input.mutation);
            bump(result.framesByType, input.type);
            result.frames++;
            try {
              await slot.send(input);
            } catch (error) {
              if (!router.running) crashed = true;
              else throw error;
            }
          }
        }),
      );
      result.batches++;
      if (!router.running) {
        result.crashes++;
        result.crash = `the node exited during batch ${result.batches} (frames ${result.frames - batch}-${result.frames}, seed ${options.seed})`;
        log(result.crash);
        break;
      }
      const healthz = await healthy(router);
      if (!healthz) result.healthFailures++;
      const problem = await control.exchange(options.controlMessages, `b${result.batches}`);
      if (problem) result.controlFailures.push(`batch ${result.batches}: ${problem}`);
      else result.controlMessagesExchanged += options.controlMessages;
      const rssKb = router.memory().rssKb;
      result.rss.maxKb = Math.max(result.rss.maxKb, rssKb);
      const seconds = (performance.now() - batchStart) / 1000;
      result.checks.push({ frames: result.frames, healthz, controlInOrder: problem === undefined, rssKb, seconds: Math.round(seconds * 10) / 10 });
      log(
        `${result.frames}/${options.frames} frames, ${Math.round(batch / seconds)}/s, healthz ${healthz ? "ok" : "FAILED"}, control ${problem ?? "in order"}, RSS ${Math.round(rssKb / 1024)} MB, reconnects ${result.reconnects}`,
      );
      batchStart = performance.now();
    }
    if (router.running) {
      const after = await router.metrics();
      result.restarts = difference(sumSeries(after, "router_actor_restarts_total", "kind"), sumSeries(before, "router_actor_restarts_total", "kind"));
      result.rejectedByCode = difference(sumSeries(after, "router_frames_rejected_total", "code"), sumSeries(before, "router_frames_rejected_total", "code"));
      result.rss.afterKb = router.memory().rssKb;
      result.rss.bounded = result.rss.maxKb <= result.rss.boundKb;
    }
  } finally {
    await Promise.allSettled(slots.map((slot) => slot.close()));
    await control.close();
    await router.stop();
    router.removeData();
  }
  result.durationSeconds = Math.round((performance.now() - startedAt) / 100) / 10;
  result.framesPerSecond = Math.round(result.frames / result.durationSeconds);
  return result;
}

export function passed(result: FuzzResult): boolean {
  return result.crashes === 0 && result.healthFailures === 0 && result.controlFailures.length === 0 && result.rss.bounded && result.probeTimeouts === 0 && result.extensionFramesKeptOpen === 0;
}

function table(counts: Record<string, number>): string {
  const rows = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return rows.length === 0 ? "none\n" : `| | count |\n|---|---:|\n${rows.map(([k, v]) => `| ${k} | ${v.toLocaleString("en")} |`).join("\n")}\n`;
}

export function markdown(result: FuzzResult): string {
  const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
  const env = Object.entries(result.nodeEnv).map(([k, v]) => `${k}=${v}`).join(" ") || "none (default limits: 1000 frames/s per connection, burst 2000)";
  return `# Fuzz run

\`npm run fuzz -- --frames ${result.options.frames} --seed ${result.seed}\` (bench/fuzz/run.ts) against one router
process (LMDB), ${result.options.connections} connections that say hello first and ${result.options.preHello} that
do not, each paced at ${result.options.framesPerSecondPerConnection} frames/s. Node environment: ${env}.

| | |
|---|---:|
| frames | ${result.frames.toLocaleString("en")} |
| pacing pings (probes) | ${result.probes.toLocaleString("en")} |
| batches (checks) | ${result.batches} |
| crashes (node exits) | ${result.crashes} |
| actor restarts | ${Object.values(result.restarts).reduce((a, b) => a + b, 0)} ${JSON.stringify(result.restarts)} |
| /healthz failures | ${result.healthFailures} |
| control pair failures | ${result.controlFailures.length} (${result.controlMessagesExchanged} messages exchanged in order) |
| probe timeouts | ${result.probeTimeouts} |
| frames with an extension type or 0xc1 that did not close the connection | ${result.extensionFramesKeptOpen} |
| reconnects | ${result.reconnects.toLocaleString("en")} |
| RSS before / after / max | ${mb(result.rss.beforeKb)} / ${mb(result.rss.afterKb)} / ${mb(result.rss.maxKb)} (bound ${mb(result.rss.boundKb)}) |
| duration | ${result.durationSeconds} s (${result.framesPerSecond} frames/s) |
${result.crash ? `\nCrash: ${result.crash}\n` : ""}
## Errors by code, from the \`err\` frames received

${table(result.errorsByCode)}
## router_frames_rejected_total over the run

${table(result.rejectedByCode)}
## Connection closes by code

${table(result.closesByCode)}
## Frames by mutation

${table(result.framesByMutation)}
## Frames by type (table key)

${table(result.framesByType)}
${result.genericTypes.length ? `\nFuzzed with the generic shape (no entry in bench/fuzz/shapes.ts yet): ${result.genericTypes.join(", ")}\n` : ""}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      frames: { type: "string", default: "100000" },
      seed: { type: "string" },
      connections: { type: "string" },
      "pre-hello": { type: "string" },
      batch: { type: "string" },
      rate: { type: "string" },
      "no-write": { type: "boolean", default: false },
    },
  });
  const number = (value: string | undefined, fallback: number) => (value === undefined ? fallback : Number(value));
  const seed = number(values.seed, Math.floor(Math.random() * 2 ** 32));
  const nodeEnv: Record<string, string> = {};
  for (const name of ["ROUTER_FRAMES_PER_SECOND", "ROUTER_FRAME_BURST"]) if (process.env[name]) nodeEnv[name] = process.env[name]!;
  const startedAt = new Date();
  const result = await runFuzz({
    ...DEFAULT_OPTIONS,
    frames: number(values.frames, 100_000),
    seed,
    connections: number(values.connections, DEFAULT_OPTIONS.connections),
    preHello: number(values["pre-hello"], DEFAULT_OPTIONS.preHello),
    batchFrames: number(values.batch, DEFAULT_OPTIONS.batchFrames),
    framesPerSecondPerConnection: number(values.rate, DEFAULT_OPTIONS.framesPerSecondPerConnection),
    nodeEnv,
  });
  const ok = passed(result);
  process.stderr.write(`fuzz: ${ok ? "PASSED" : "FAILED"} (seed ${seed}): ${JSON.stringify({ crashes: result.crashes, healthFailures: result.healthFailures, controlFailures: result.controlFailures, rss: result.rss, probeTimeouts: result.probeTimeouts, extensionFramesKeptOpen: result.extensionFramesKeptOpen })}\n`);
  if (!values["no-write"]) {
    const { checks, ...summary } = result;
    writeRecord(RESULTS_DIR, makeRecord("fuzz", startedAt, result.options, { ...summary, checks }));
    writeFileSync(join(RESULTS_DIR, "fuzz.md"), markdown(result));
    process.stderr.write(`fuzz: wrote ${join(RESULTS_DIR, "fuzz.json")} and fuzz.md\n`);
  }
  process.exitCode = ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main();
}
