import { findServerBinary, SERVER_HOST, startServerProcess, type ServerProcess } from "./server-process.ts";

/**
 * A real, disposable nats-server for one test: its own free port, JetStream on with a temp
 * store, never the shared server on 4222. `stop()` in an `after` hook tears it down; `kill()`
 * keeps the store, so `restart()` comes back with its JetStream state.
 */
export interface NatsServer extends ServerProcess {
  readonly url: string;
}

export interface NatsServerOptions {
  /** How long to wait for "Server is ready"; default 10 s. */
  readyTimeoutMs?: number;
  /** Extra command-line arguments, e.g. ["-D"] for debug logs. */
  extraArgs?: readonly string[];
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const server = await startServerProcess({
    name: "nats-server",
    binary: findServerBinary("nats-server", "NATS_SERVER_BIN", ["/usr/sbin", "/usr/local/sbin", "/usr/local/bin"], "install it (apt-get install nats-server)"),
    args: (port, dir) => ["-a", SERVER_HOST, "-p", String(port), "-js", "-sd", dir, ...(options.extraArgs ?? [])],
    readyLine: "Server is ready",
    readyTimeoutMs: options.readyTimeoutMs,
  });
  return Object.assign(server, { url: `nats://${SERVER_HOST}:${server.port}` });
}
