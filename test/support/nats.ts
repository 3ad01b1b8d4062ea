import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { freePort } from "./ports.ts";

/**
 * A real, disposable nats-server for one test: its own free port, JetStream on with a temp
 * store, never the shared server on 4222. `stop()` in an `after` hook tears it down.
 */
export interface NatsServer {
  readonly url: string;
  readonly port: number;
  /** Graceful shutdown (SIGTERM); deletes the JetStream store. */
  stop(): Promise<void>;
  /** Crash (SIGKILL); keeps the store, so `restart()` comes back with its JetStream state. */
  kill(): Promise<void>;
  /** Stops the server if it runs (gracefully), then starts it again on the same port and store. */
  restart(): Promise<void>;
}

export interface NatsServerOptions {
  /** How long to wait for "Server is ready"; default 10 s. */
  readyTimeoutMs?: number;
  /** Extra command-line arguments, e.g. ["-D"] for debug logs. */
  extraArgs?: readonly string[];
}

export class NatsServerMissingError extends Error {
  override readonly name = "NatsServerMissingError";
}

const HOST = "127.0.0.1";
const READY_LINE = "Server is ready";
const PORT_TAKEN = /address already in use/i;
const STOP_GRACE_MS = 5_000;
// Only for the race between freePort() and the server binding it, never to hide a failure.
const PORT_ATTEMPTS = 3;

const running = new Set<ChildProcess>();
// A test runner that exits on a failed assertion must not leave servers behind.
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const binary = findNatsServerBinary();
  const storeDir = mkdtempSync(join(tmpdir(), "router-nats-"));
  const launch = (port: number): Promise<ServerProcess> =>
    launchServer(binary, port, storeDir, options.readyTimeoutMs ?? 10_000, options.extraArgs ?? []);

  let current: ServerProcess | undefined;
  let port = 0;
  for (let attempt = 1; current === undefined; attempt++) {
    port = await freePort(HOST);
    try {
      current = await launch(port);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= PORT_ATTEMPTS) {
        rmSync(storeDir, { recursive: true, force: true });
        throw error;
      }
    }
  }

  let active: ServerProcess | undefined = current;
  return {
    url: `nats://${HOST}:${port}`,
    port,
    async stop() {
      await active?.terminate("SIGTERM");
      active = undefined;
      rmSync(storeDir, { recursive: true, force: true });
    },
    async kill() {
      await active?.terminate("SIGKILL");
      active = undefined;
    },
    async restart() {
      await active?.terminate("SIGTERM");
      active = undefined;
      mkdirSync(storeDir, { recursive: true });
      active = await launch(port);
    },
  };
}

/** `NATS_SERVER_BIN`, else `nats-server` on PATH or in the sbin folders Debian installs it to. */
export function findNatsServerBinary(): string {
  const fromEnvironment = process.env["NATS_SERVER_BIN"];
  if (fromEnvironment) {
    if (isExecutable(fromEnvironment)) return fromEnvironment;
    throw new NatsServerMissingError(`NATS_SERVER_BIN=${fromEnvironment} is not an executable file`);
  }
  const folders = [...(process.env["PATH"] ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin", "/usr/local/bin"];
  for (const folder of folders) {
    if (!folder) continue;
    const candidate = join(folder, "nats-server");
    if (isExecutable(candidate)) return candidate;
  }
  throw new NatsServerMissingError(
    "nats-server not found on PATH or in /usr/sbin: install it (apt-get install nats-server) or set NATS_SERVER_BIN",
  );
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

class PortTakenError extends Error {
  override readonly name = "PortTakenError";
}

interface ServerProcess {
  terminate(signal: "SIGTERM" | "SIGKILL"): Promise<void>;
}

function launchServer(
  binary: string,
  port: number,
  storeDir: string,
  readyTimeoutMs: number,
  extraArgs: readonly string[],
): Promise<ServerProcess> {
  const args = ["-a", HOST, "-p", String(port), "-js", "-sd", storeDir, ...extraArgs];
  const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
  running.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      running.delete(child);
      resolve();
    });
  });
  const recentLog = keepRecentLines(child);

  const terminate = async (signal: "SIGTERM" | "SIGKILL"): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const escalation = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    await exited;
    clearTimeout(escalation);
  };

  return new Promise<ServerProcess>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      outcome();
    };
    const fail = (error: Error): void => settle(() => void terminate("SIGKILL").then(() => reject(error)));
    const deadline = setTimeout(
      () => fail(new Error(`nats-server on port ${port} not ready within ${readyTimeoutMs} ms:\n${recentLog.text()}`)),
      readyTimeoutMs,
    );
    recentLog.onLine((line) => {
      if (line.includes(READY_LINE)) settle(() => resolve({ terminate }));
    });
    child.once("error", (error) => fail(new Error(`cannot run ${binary}: ${error.message}`, { cause: error })));
    child.once("exit", (code, signal) => {
      const log = recentLog.text();
      const reason = `nats-server on port ${port} exited (${signal ?? `code ${code}`}) before it was ready:\n${log}`;
      fail(PORT_TAKEN.test(log) ? new PortTakenError(reason) : new Error(reason));
    });
  });
}

interface RecentLines {
  text(): string;
  onLine(listener: (line: string) => void): void;
}

// The server's stderr must be drained for its whole life, or it blocks once the pipe fills;
// the last lines are kept for error messages.
function keepRecentLines(child: ChildProcess, limit = 40): RecentLines {
  const lines: string[] = [];
  const listeners: Array<(line: string) => void> = [];
  let partial = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    for (const line of parts) {
      lines.push(line);
      if (lines.length > limit) lines.shift();
      for (const listener of listeners) listener(line);
    }
  });
  return {
    text: () => [...lines, partial].join("\n"),
    onLine: (listener) => listeners.push(listener),
  };
}
