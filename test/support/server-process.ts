import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { freePort } from "./ports.ts";

/**
 * A real, disposable server binary (nats-server, redis-server, ...) for one test: its own free
 * port and temp directory, never a shared server on a standard port. Fault tests stop, kill
 * and restart it on the same port and directory.
 */
export interface ServerProcess {
  readonly port: number;
  /** Graceful shutdown (SIGTERM); deletes the temp directory. */
  stop(): Promise<void>;
  /** Crash (SIGKILL); keeps the directory, so `restart()` comes back with what it persisted. */
  kill(): Promise<void>;
  /** Stops the server if it runs (gracefully), then starts it again on the same port and directory. */
  restart(): Promise<void>;
}

/** What differs between servers; the launching, waiting and stopping are the same for all. */
export interface ServerSpec {
  /** The binary's name, in messages. */
  name: string;
  binary: string;
  /** Command line for a server on `port` keeping its files in `dir`. */
  args(port: number, dir: string): string[];
  /** A log line (stdout or stderr) that says the server is up. */
  readyLine: string;
  /** Called once the ready line is seen; resolves when the server really serves (a PING). */
  confirmReady?(port: number): Promise<void>;
  /** How long to wait for it; default 10 s. */
  readyTimeoutMs?: number;
}

export const SERVER_HOST = "127.0.0.1";
const PORT_TAKEN = /address already in use/i;
const STOP_GRACE_MS = 5_000;
// Only for the race between freePort() and the server binding it, never to hide a failure.
const PORT_ATTEMPTS = 3;

const running = new Set<ChildProcess>();
// A test runner that exits on a failed assertion must not leave servers behind.
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export async function startServerProcess(spec: ServerSpec): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), `router-${spec.name}-`));
  let active: Running | undefined;
  let port = 0;
  for (let attempt = 1; active === undefined; attempt++) {
    port = await freePort(SERVER_HOST);
    try {
      active = await launch(spec, port, dir);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= PORT_ATTEMPTS) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  return {
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
      active = await launch(spec, port, dir);
    },
  };
}

export class ServerBinaryMissingError extends Error {
  override readonly name = "ServerBinaryMissingError";
}

/** `$envVariable`, else `name` on PATH or in `extraFolders` (where Debian installs it). */
export function findServerBinary(name: string, envVariable: string, extraFolders: readonly string[], installHint: string): string {
  const fromEnvironment = process.env[envVariable];
  if (fromEnvironment) {
    if (isExecutable(fromEnvironment)) return fromEnvironment;
    throw new ServerBinaryMissingError(`${envVariable}=${fromEnvironment} is not an executable file`);
  }
  for (const folder of [...(process.env["PATH"] ?? "").split(delimiter), ...extraFolders]) {
    if (!folder) continue;
    const candidate = join(folder, name);
    if (isExecutable(candidate)) return candidate;
  }
  throw new ServerBinaryMissingError(`${name} not found on PATH: ${installHint} or set ${envVariable}`);
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

interface Running {
  terminate(signal: "SIGTERM" | "SIGKILL"): Promise<void>;
}

function launch(spec: ServerSpec, port: number, dir: string): Promise<Running> {
  const readyTimeoutMs = spec.readyTimeoutMs ?? 10_000;
  const child = spawn(spec.binary, spec.args(port, dir), { stdio: ["ignore", "pipe", "pipe"] });
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

  return new Promise<Running>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      outcome();
    };
    const fail = (error: Error): void => settle(() => void terminate("SIGKILL").then(() => reject(error)));
    const deadline = setTimeout(
      () => fail(new Error(`${spec.name} on port ${port} not ready within ${readyTimeoutMs} ms:\n${recentLog.text()}`)),
      readyTimeoutMs,
    );
    recentLog.onLine((line) => {
      if (!line.includes(spec.readyLine)) return;
      const confirmed = spec.confirmReady?.(port) ?? Promise.resolve();
      confirmed.then(
        () => settle(() => resolve({ terminate })),
        (error: Error) => fail(new Error(`${spec.name} on port ${port} logged ready but does not serve: ${error.message}`)),
      );
    });
    child.once("error", (error) => fail(new Error(`cannot run ${spec.binary}: ${error.message}`, { cause: error })));
    child.once("exit", (code, signal) => {
      const log = recentLog.text();
      const reason = `${spec.name} on port ${port} exited (${signal ?? `code ${code}`}) before it was ready:\n${log}`;
      fail(PORT_TAKEN.test(log) ? new PortTakenError(reason) : new Error(reason));
    });
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
