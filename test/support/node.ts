import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import pino from "pino";
import { signToken } from "../../src/auth/tokens.ts";
import { defaultConfig, type NodeConfig } from "../../src/config.ts";
import { startNode, type NodeOverrides, type RunningNode } from "../../src/node.ts";
import { RouterClient, type ClientOptions } from "../../sdk/client.ts";
import { clusterNodeProcessSettings, clusterStorage, dropKeyspace, testBackend } from "./backend.ts";
import { freePort } from "./ports.ts";

const NODE_REQUEST_TIMEOUT_ON_CQL_MS = 30_000;

export const TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef";

export function tempDir(prefix = "router-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function tokenFor(user: string, device?: string, secret = TEST_SECRET): Promise<string> {
  return signToken(secret, { user, device }, 3600);
}

/** A router node in this process on a free port with its own data directory. */
export class TestNode {
  private constructor(
    readonly node: RunningNode,
    readonly config: NodeConfig,
    private readonly ownsDataDir: boolean,
    private readonly cleanup?: () => Promise<void>,
  ) {}

  static async start(
    options: { config?: (config: NodeConfig) => void; overrides?: NodeOverrides; dataDir?: string } = {},
  ): Promise<TestNode> {
    const config = defaultConfig();
    config.port = 0;
    config.secret = TEST_SECRET;
    config.logLevel = process.env.ROUTER_TEST_LOG_LEVEL ?? "silent";
    config.dataDir = options.dataDir ?? tempDir();
    config.nodeId = `test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    // Stores a test brings itself decide the backend; otherwise ROUTER_TEST_BACKEND does.
    const onCluster = testBackend() === "cql" && !options.overrides?.stores;
    if (onCluster) {
      config.storage = clusterStorage(config.dataDir);
      // A request waits on Cassandra, whose deadlines on this busy machine are long; the node
      // answers `timeout` only after them, and clients wait longer still (connect below).
      config.limits.requestTimeoutMs = NODE_REQUEST_TIMEOUT_ON_CQL_MS;
    }
    options.config?.(config);
    const logger = options.overrides?.logger ?? pino({ level: config.logLevel });
    const node = await startNode(config, { ...options.overrides, logger });
    const owned = options.dataDir === undefined;
    // A keyspace outlives the node unless dropped; one whose data dir the test keeps may be reopened.
    const cleanup = onCluster && owned ? () => dropKeyspace(config.storage.keyspace) : undefined;
    return new TestNode(node, config, owned, cleanup);
  }

  get url(): string {
    return `ws://127.0.0.1:${this.node.port}/ws`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.node.port}`;
  }

  async connect(user: string, options: Partial<ClientOptions> = {}): Promise<RouterClient> {
    return RouterClient.connect({
      url: this.url,
      token: await tokenFor(user, undefined, this.config.secret),
      requestTimeoutMs: this.config.limits.requestTimeoutMs + 10_000,
      ...options,
    });
  }

  /** True once stop() was called: tests route new connections elsewhere. */
  stopped = false;

  async stop(): Promise<void> {
    this.stopped = true;
    await this.node.stop();
    if (this.ownsDataDir) rmSync(this.config.dataDir, { recursive: true, force: true });
    await this.cleanup?.();
  }
}

/** A router node as its own OS process (`router node start`), so a test can SIGKILL it. */
export class NodeProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly host: string,
    readonly port: number,
    /** Settles with the exit code (null when killed by a signal). */
    readonly exited: Promise<number | null>,
  ) {}

  /**
   * `extraArgs` and `settings.env` go to `router node start` after the test's defaults; with
   * `settings.host` (another 127.0.0.x) the node listens there. Storage follows the run's
   * backend unless the arguments name one (`--scylla`).
   */
  static async start(
    dataDir: string,
    port?: number,
    extraArgs: string[] = [],
    settings: { host?: string; env?: Record<string, string> } = {},
  ): Promise<NodeProcess> {
    const host = settings.host ?? "127.0.0.1";
    const listenPort = port ?? (await freePort(host));
    const ownStorage = extraArgs.includes("--scylla");
    const backend = testBackend() === "cql" && !ownStorage ? clusterNodeProcessSettings(dataDir) : { args: [], env: {} };
    const child = spawn(
      process.execPath,
      [
        "bin/router.mjs",
        "node",
        "start",
        "--host",
        host,
        "--port",
        String(listenPort),
        "--data",
        dataDir,
        "--secret",
        TEST_SECRET,
        "--log-level",
        "info",
        ...backend.args,
        ...extraArgs,
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...backend.env, ...settings.env } },
    );
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on("line", (line) => {
        if (line.includes('"node listening"')) resolve();
      });
      void exited.then((code) => reject(new Error(`node exited with ${code} before listening: ${stderr}`)));
    });
    return new NodeProcess(child, host, listenPort, exited);
  }

  get url(): string {
    return `ws://${this.host}:${this.port}/ws`;
  }

  async connect(user: string, options: Partial<ClientOptions> = {}): Promise<RouterClient> {
    return RouterClient.connect({ url: this.url, token: await tokenFor(user), ...options });
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }
}
