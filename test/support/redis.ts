import { connect } from "node:net";
import { findServerBinary, SERVER_HOST, startServerProcess, type ServerProcess } from "./server-process.ts";

/**
 * A real, disposable redis-server for one test: its own free port and temp dir, no RDB or AOF,
 * never the shared server on 6379. Fault tests stop, kill and restart it on the same port.
 * Nothing is persisted, so a restarted server comes back empty, like a failed-over cache.
 */
export interface RedisServer extends ServerProcess {
  readonly url: string;
}

export interface RedisServerOptions {
  /** How long to wait until it answers PING; default 10 s. */
  readyTimeoutMs?: number;
  /** Extra command-line arguments, e.g. ["--loglevel", "debug"]. */
  extraArgs?: readonly string[];
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const server = await startServerProcess({
    name: "redis-server",
    binary: findServerBinary(
      "redis-server",
      "REDIS_SERVER_BIN",
      ["/usr/bin", "/usr/sbin", "/usr/local/bin"],
      "install it (apt-get install redis-server, or scripts/ensure-services.sh)",
    ),
    args: (port, dir) => [
      ...["--port", String(port), "--bind", SERVER_HOST, "--dir", dir],
      // No persistence: a test server's state lives and dies with the process.
      ...["--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", ""],
      ...(options.extraArgs ?? []),
    ],
    readyLine: "Ready to accept connections",
    // The log line says it listens; PING proves it serves commands.
    confirmReady: ping,
    readyTimeoutMs: options.readyTimeoutMs,
  });
  return Object.assign(server, { url: `redis://${SERVER_HOST}:${server.port}` });
}

/** One RESP PING on a fresh connection; resolves on +PONG. */
function ping(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: SERVER_HOST, port });
    let reply = "";
    socket.setEncoding("utf8");
    socket.setTimeout(5_000, () => socket.destroy(new Error("PING timed out")));
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
