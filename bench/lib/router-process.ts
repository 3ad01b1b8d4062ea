import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../../test/support/ports.ts";
import { sleep } from "./clock.ts";
import { routerLaunchArgs } from "./compiled-router.ts";
import { readCpuMs, readMemory, type ProcessMemory } from "./proc.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");

export interface RouterProcessOptions {
  /** Node flags for the router process (`--cpu-prof`, `--inspect`...). */
  nodeFlags?: readonly string[];
  /** Extra `router node start` flags (a storage backend's `--scylla`, `--redis`). */
  routerFlags?: readonly string[];
  /** Extra environment (`ROUTER_FRAMES_PER_SECOND`...). */
  env?: Record<string, string>;
  /** The HS256 secret (`--secret`); nodes of one cluster share it. Default: a fresh random one. */
  secret?: string;
  startTimeoutMs?: number;
}

export class RouterStartError extends Error {
  override readonly name = "RouterStartError";
}

/**
 * Push on, as in production: with no provider a node tracks nothing for push, and the bench
 * would not measure that work. No load client registers a device, so nothing is ever sent to
 * this address (the discard port).
 */
const PUSH_ON = { ROUTER_PUSH_WEBHOOK_URL: "http://127.0.0.1:9/push", ROUTER_PUSH_WEBHOOK_SECRET: "bench-push-secret-not-used" };

/**
 * One router node as its own process, started the way an operator starts it (`router node
 * start`, from the compiled build: ./compiled-router.ts), so its RSS and CPU are its own and
 * not the load generator's.
 */
export class RouterProcess {
  readonly cpuProfileDir: string;
  private stderrTail = "";
  private exited: Promise<number | null>;
  /** Set from the `Debugger listening on ws://...` line when started with `--inspect`. */
  inspectorUrl: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly dataDir: string,
    readonly secret: string,
  ) {
    this.cpuProfileDir = join(dataDir, "cpu-profile");
    this.exited = new Promise((resolveExit) => child.once("exit", (code) => resolveExit(code)));
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-4000);
      const inspector = /Debugger listening on (ws:\/\/\S+)/.exec(chunk);
      if (inspector) this.inspectorUrl = inspector[1];
    });
    child.stdout!.resume();
  }

  static async start(options: RouterProcessOptions = {}): Promise<RouterProcess> {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), "router-bench-"));
    const nodeFlags = (options.nodeFlags ?? []).map((flag) => flag.replace("{profileDir}", join(dataDir, "cpu-profile")));
    const secret = options.secret ?? randomBytes(24).toString("hex");
    const child = spawn(
      process.execPath,
      [...nodeFlags, ...routerLaunchArgs(REPO_ROOT), "node", "start", "--port", String(port), "--data", join(dataDir, "data"), "--secret", secret, "--log-level", "warn", ...(options.routerFlags ?? [])],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...PUSH_ON, ...options.env } },
    );
    const router = new RouterProcess(child, port, dataDir, secret);
    await router.waitHealthy(options.startTimeoutMs ?? 30_000);
    return router;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  memory(): ProcessMemory {
    return readMemory(this.pid);
  }

  cpuMs(): number {
    return readCpuMs(this.pid);
  }

  /** `/metrics` as a map from series (with labels) to value. */
  async metrics(): Promise<Map<string, number>> {
    const text = await (await fetch(`${this.httpUrl}/metrics`)).text();
    const out = new Map<string, number>();
    for (const line of text.split("\n")) {
      if (!line || line.startsWith("#")) continue;
      const cut = line.lastIndexOf(" ");
      out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
    }
    return out;
  }

  /** Graceful stop (SIGTERM: drain, close stores, write the CPU profile if asked for). */
  async stop(): Promise<void> {
    if (this.running) {
      this.child.kill("SIGTERM");
      const killer = setTimeout(() => this.child.kill("SIGKILL"), 15_000);
      await this.exited;
      clearTimeout(killer);
    }
  }

  /** The main thread's profile: the largest file `--cpu-prof` wrote (worker threads write their own). */
  cpuProfilePath(): string | undefined {
    let files: string[];
    try {
      files = readdirSync(this.cpuProfileDir).filter((name) => name.endsWith(".cpuprofile"));
    } catch {
      return undefined;
    }
    const sized = files.map((name) => ({ path: join(this.cpuProfileDir, name), size: statSync(join(this.cpuProfileDir, name)).size }));
    return sized.sort((a, b) => b.size - a.size)[0]?.path;
  }

  removeData(): void {
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    // At `--log-level warn` the node does not log "listening": /healthz is the signal.
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new RouterStartError(`router exited with ${this.child.exitCode ?? this.child.signalCode} before listening:\n${this.stderrTail}`);
      }
      try {
        const response = await fetch(`${this.httpUrl}/healthz`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    this.child.kill("SIGKILL");
    throw new RouterStartError(`router not healthy within ${timeoutMs} ms:\n${this.stderrTail}`);
  }
}
