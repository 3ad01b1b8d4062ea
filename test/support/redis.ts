import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { freePort } from "./ports.ts";

/**
 * A real, disposable redis-server for one test: its own free port and temp dir, no RDB or AOF,
 * never the shared server on 6379. Fault tests stop, kill and restart it on the same port.
 * Nothing is persisted, so a restarted server comes back empty, like a failed-over cache.
 */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Graceful shutdown (SIGTERM); deletes the temp dir. */
  stop(): Promise<void>;
  /** Crash (SIGKILL); `restart()` brings it back on the same port. */
  kill(): Promise<void>;
  /** Stops the server if it runs (gracefully), then starts it again on the same port. */
  restart(): Promise<void>;
}

export interface RedisServerOptions {
  /** How long to wait until it answers PING; default 10 s. */
  readyTimeoutMs?: number;
  /** Extra command-line arguments, e.g. ["--loglevel", "debug"]. */
  extraArgs?: readonly string[];
}

export class RedisServerMissingError extends Error {
  override readonly name = "RedisServerMissingError";
}

const HOST = "127.0.0.1";
const READY_LINE = "Ready to accept connections";
const PORT_TAKEN = /address already in use/i;
const STOP_GRACE_MS = 5_000;
// Only for the race between freePort() and the server binding it, never to hide a failure.
const PORT_ATTEMPTS = 3;

const running = new Set<ChildProcess>();
// A test runner that exits on a failed assertion must not leave servers behind.
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = findRedisServerBinary();
  const dir = mkdtempSync(join(tmpdir(), "router-redis-"));
  const launch = (port: number): Promise<ServerProcess> =>
    launchServer(binary, port, dir, options.readyTimeoutMs ?? 10_000, options.extraArgs ?? []);

  let current: ServerProcess | undefined;
  let port = 0;
  for (let attempt = 1; current === undefined; attempt++) {
    port = await freePort(HOST);
    try {
      current = await launch(port);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= PORT_ATTEMPTS) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }

  let active: ServerProcess | undefined = current;
  return {
    url: `redis://${HOST}:${port}`,
    port,
    async stop() {
      await active?.terminate("SIGTERM");
      active = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      await active?.terminate("SIGKILL");
      active = undefined;
    },
    async restart() {
      await active?.terminate("SIGTERM");
      active = undefined;
      mkdirSync(dir, { recursive: true });
      active = await launch(port);
    },
  };
}

/** `REDIS_SERVER_BIN`, else `redis-server` on PATH or in the folders Debian installs it to. */
export function findRedisServerBinary(): string {
  const fromEnvironment = process.env["REDIS_SERVER_BIN"];
  if (fromEnvironment) {
    if (isExecutable(fromEnvironment)) return fromEnvironment;
    throw new RedisServerMissingError(`REDIS_SERVER_BIN=${fromEnvironment} is not an executable file`);
  }
  const folders = [...(process.env["PATH"] ?? "").split(delimiter), "/usr/bin", "/usr/sbin", "/usr/local/bin"];
  for (const folder of folders) {
    if (!folder) continue;
    const candidate = join(folder, "redis-server");
    if (isExecutable(candidate)) return candidate;
  }
  throw new RedisServerMissingError(
    "redis-server not found on PATH: install it (apt-get install redis-server, or scripts/ensure-services.sh) or set REDIS_SERVER_BIN",
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
  dir: string,
  readyTimeoutMs: number,
  extraArgs: readonly string[],
): Promise<ServerProcess> {
  const args = [
    "--port", String(port),
    "--bind", HOST,
    "--dir", dir,
    // No persistence: a test server's state lives and dies with the process.
    "--save", "",
    "--appendonly", "no",
    "--daemonize", "no",
    "--logfile", "",
    ...extraArgs,
  ];
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
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
      () => fail(new Error(`redis-server on port ${port} not ready within ${readyTimeoutMs} ms:\n${recentLog.text()}`)),
      readyTimeoutMs,
    );
    recentLog.onLine((line) => {
      if (!line.includes(READY_LINE)) return;
      // The log line says it listens; PING proves it serves commands.
      ping(port).then(
        () => settle(() => resolve({ terminate })),
        (error: Error) => fail(new Error(`redis-server on port ${port} did not answer PING: ${error.message}`)),
      );
    });
    child.once("error", (error) => fail(new Error(`cannot run ${binary}: ${error.message}`, { cause: error })));
    child.once("exit", (code, signal) => {
      const log = recentLog.text();
      const reason = `redis-server on port ${port} exited (${signal ?? `code ${code}`}) before it was ready:\n${log}`;
      fail(PORT_TAKEN.test(log) ? new PortTakenError(reason) : new Error(reason));
    });
  });
}

/** One RESP PING on a fresh connection; resolves on +PONG. */
function ping(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port });
    let reply = "";
    socket.setEncoding("utf8");
    socket.setTimeout(2_000, () => socket.destroy(new Error("PING timed out")));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk: string) => {
      reply += chunk;
      if (!reply.includes("\r\n")) return;
      socket.end();
      if (reply.startsWith("+PONG")) resolve();
      else reject(new Error(`unexpected reply ${JSON.stringify(reply)}`));
    });
    socket.once("error", reject);
  });
}

interface RecentLines {
  text(): string;
  onLine(listener: (line: string) => void): void;
}

// Both pipes must be drained for the server's whole life, or it blocks once a pipe fills;
// the last lines are kept for error messages.
function keepRecentLines(child: ChildProcess, limit = 40): RecentLines {
  const lines: string[] = [];
  const listeners: Array<(line: string) => void> = [];
  const partials = new Map<NodeJS.ReadableStream, string>();
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      const parts = ((partials.get(stream) ?? "") + chunk).split("\n");
      partials.set(stream, parts.pop() ?? "");
      for (const line of parts) {
        lines.push(line);
        if (lines.length > limit) lines.shift();
        for (const listener of listeners) listener(line);
      }
    });
  }
  return {
    text: () => [...lines, ...partials.values()].join("\n"),
    onLine: (listener) => listeners.push(listener),
  };
}
