import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, watch } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { StringDecoder } from "node:string_decoder";
import { join } from "node:path";
import { ensureCassandraJars } from "./cassandra/jar-cache.ts";
import { findJava17 } from "./cassandra/java-tools.ts";
import { HOST, writeNodeConfig, type NodePorts } from "./cassandra/node-config.ts";
import { freePort } from "./ports.ts";

export { CassandraPrerequisiteError } from "./cassandra/java-tools.ts";

/**
 * A real, disposable single-node Apache Cassandra 5 in its own JVM, on free ports, with its data
 * in a temp dir. Slow to start (tens of seconds on 2 cores), so scripts/test.mjs starts one per
 * test run and hands it to test files as ROUTER_TEST_CQL; each test file uses its own keyspace.
 */
export interface CassandraNode {
  /** `127.0.0.1:<port>`, what the driver takes as a contact point. */
  readonly contactPoint: string;
  readonly port: number;
  /** The data centre the node reports, for the driver's `localDataCenter`. */
  readonly dataCenter: string;
  /** SIGTERM (escalating to SIGKILL after a grace period), then deletes the temp dir. */
  stop(): Promise<void>;
}

export interface CassandraOptions {
  /** How long the JVM may take to say "Startup complete"; default 180 s. */
  readyTimeoutMs?: number;
  /** Progress lines (the one-off Maven download), for a runner to print. */
  log?: (line: string) => void;
  /**
   * Acknowledge writes only once on disk, so they survive a SIGKILL of the JVM (fault tests
   * that kill it). Slower: the run's shared node goes without.
   */
  durableCommitLog?: boolean;
}

const READY_LINE = "Startup complete";
const PORT_TAKEN = /Address already in use|Failed to bind port/i;
const STOP_GRACE_MS = 30_000;
// Only for the race between freePort() and the JVM binding it, never to hide a failure.
const PORT_ATTEMPTS = 3;

/** Live JVMs and their temp dirs. */
const running = new Map<ChildProcess, string>();
// A runner that exits without stop() (a crash, process.exit, Ctrl-C during start-up) must not
// leave a 1 GiB JVM or its data behind.
process.once("exit", () => {
  for (const [child, root] of running) {
    child.kill("SIGKILL");
    try {
      rmSync(root, { recursive: true, force: true });
    } catch {
      // The dying JVM may still add a file; a stray temp dir is not worth failing the exit.
    }
  }
});

export async function startCassandra(options: CassandraOptions = {}): Promise<CassandraNode> {
  const java = findJava17();
  const { lib } = await ensureCassandraJars(options.log);
  const readyTimeoutMs = options.readyTimeoutMs ?? 180_000;

  for (let attempt = 1; ; attempt++) {
    const root = mkdtempSync(join(tmpdir(), "router-cassandra-"));
    const ports: NodePorts = { storage: await freePort(HOST), native: await freePort(HOST) };
    try {
      const daemon = await launchDaemon(java, lib, root, ports, readyTimeoutMs, options.durableCommitLog ?? false);
      return {
        contactPoint: `${HOST}:${ports.native}`,
        port: ports.native,
        dataCenter: "datacenter1",
        async stop() {
          await daemon.terminate();
          rmSync(root, { recursive: true, force: true });
        },
      };
    } catch (error) {
      // A node that failed for another reason keeps its dir: the full log is the diagnosis.
      if (!(error instanceof PortTakenError)) throw error;
      rmSync(root, { recursive: true, force: true });
      if (attempt >= PORT_ATTEMPTS) throw error;
    }
  }
}

class PortTakenError extends Error {
  override readonly name = "PortTakenError";
}

interface Daemon {
  terminate(): Promise<void>;
}

function launchDaemon(java: string, lib: string, root: string, ports: NodePorts, readyTimeoutMs: number, durableCommitLog: boolean): Promise<Daemon> {
  const files = writeNodeConfig(root, ports, durableCommitLog);
  const logPath = join(root, "cassandra.log");
  const args = [`@${files.jvmArgs}`, "-cp", `${join(lib, "*")}:${files.conf}`, "org.apache.cassandra.service.CassandraDaemon"];
  // The JVM writes its console straight into a file, not a pipe: a pipe fills within a few
  // hundred log lines whenever this process is busy or blocked (a spawnSync, a debugger), and
  // Cassandra then stalls on its next log call.
  const logFd = openSync(logPath, "a");
  const child = spawn(java, args, { cwd: root, stdio: ["ignore", logFd, logFd] });
  closeSync(logFd);
  running.set(child, root);
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      running.delete(child);
      resolve();
    });
  });

  const terminate = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const escalation = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    await exited;
    clearTimeout(escalation);
  };

  return new Promise<Daemon>((resolve, reject) => {
    const log = followLogFile(logPath);
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      log.close();
      outcome();
    };
    const failure = (message: string): string => `${message} (log: ${logPath}):\n${lastLines(logPath)}`;
    const fail = (error: Error): void => settle(() => void terminate().then(() => reject(error), () => reject(error)));
    const deadline = setTimeout(
      () => fail(new Error(failure(`Cassandra (CQL port ${ports.native}) not ready within ${readyTimeoutMs} ms`))),
      readyTimeoutMs,
    );
    log.onLine((line) => {
      // Logged once the CQL server is bound ("Starting listening for CQL clients" comes
      // just before the bind, so a connect right after it can still be refused).
      if (!line.includes(READY_LINE)) return;
      acceptsConnections(ports.native).then(
        () => settle(() => resolve({ terminate })),
        (error: Error) => fail(new Error(failure(`Cassandra said "${READY_LINE}" but port ${ports.native} refused: ${error.message}`))),
      );
    });
    child.once("error", (error) => fail(new Error(`cannot run ${java}: ${error.message}`, { cause: error })));
    child.once("exit", (code, signal) => {
      const reason = failure(`Cassandra exited (${signal ?? `code ${code}`}) before it was ready`);
      fail(PORT_TAKEN.test(reason) ? new PortTakenError(reason) : new Error(reason));
    });
  });
}

function acceptsConnections(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port });
    socket.setTimeout(5_000, () => socket.destroy(new Error("connect timed out")));
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("error", reject);
  });
}

interface FollowedLog {
  onLine(listener: (line: string) => void): void;
  close(): void;
}

/** Calls listeners with each complete line appended to `path`, woken by inotify, not a timer. */
function followLogFile(path: string): FollowedLog {
  const listeners: Array<(line: string) => void> = [];
  const fd = openSync(path, "r");
  const chunk = Buffer.alloc(64 * 1024);
  let offset = 0;
  const decoder = new StringDecoder("utf8");
  let partial = "";
  let closed = false;
  const readNew = (): void => {
    for (;;) {
      if (closed) return;
      const bytes = readSync(fd, chunk, 0, chunk.length, offset);
      if (bytes === 0) return;
      offset += bytes;
      const parts = (partial + decoder.write(chunk.subarray(0, bytes))).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) for (const listener of listeners) listener(line);
    }
  };
  const watcher = watch(path, readNew);
  return {
    onLine(listener) {
      listeners.push(listener);
      // Lines written before the first listener would otherwise wait for the next write.
      readNew();
    },
    close() {
      if (closed) return;
      closed = true;
      watcher.close();
      closeSync(fd);
    },
  };
}

function lastLines(path: string, count = 60): string {
  try {
    // Cut long lines: the node logs its whole configuration as one line of ~10 KB.
    const lines = readFileSync(path, "utf8").split("\n").slice(-count);
    return lines.map((line) => (line.length > 400 ? `${line.slice(0, 400)}…` : line)).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * The contact point of the run's Cassandra, as scripts/test.mjs exports it. Throws with the
 * way to get one, rather than letting CQL tests skip silently.
 */
export function testCqlContactPoint(): string {
  const contactPoint = process.env["ROUTER_TEST_CQL"];
  if (!contactPoint) {
    throw new Error(
      "ROUTER_TEST_CQL is not set: run CQL tests through `node scripts/test.mjs <files>` (or npm test), which starts Cassandra",
    );
  }
  return contactPoint;
}
