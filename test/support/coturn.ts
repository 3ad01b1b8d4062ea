import { findServerBinary, SERVER_HOST, startServerProcess, type ServerProcess } from "./server-process.ts";
import { TurnClient } from "./turn-client.ts";

/**
 * A real, disposable coturn (`turnserver`) for one test, on its own free port, UDP only,
 * with the REST-API shared secret (`use-auth-secret`) the router signs credentials with.
 */
export interface TurnServer extends ServerProcess {
  readonly realm: string;
  readonly url: string;
}

export async function startTurnServer(options: { secret: string; realm?: string }): Promise<TurnServer> {
  const realm = options.realm ?? "router.test";
  const server = await startServerProcess({
    name: "turnserver",
    binary: findServerBinary("turnserver", "TURNSERVER_BIN", ["/usr/bin", "/usr/sbin", "/usr/local/bin"], "install it (apt-get install coturn, or scripts/ensure-services.sh)"),
    args: (port, dir) => [
      // No config file, no database outside the temp dir, no CLI, TLS or TCP listeners.
      ...["-n", "--use-auth-secret", `--static-auth-secret=${options.secret}`, `--realm=${realm}`],
      ...["--listening-ip", SERVER_HOST, "--listening-port", String(port), "--relay-ip", SERVER_HOST],
      ...["--no-cli", "--no-tls", "--no-dtls", "--no-tcp", "--log-file", "stdout", "--simple-log"],
      ...["--pidfile", `${dir}/turnserver.pid`, "--db", `${dir}/turndb`],
    ],
    readyLine: "Total General servers",
    // Listeners open after that line: a STUN Binding answered proves it serves.
    confirmReady: async (port) => {
      const client = await TurnClient.open(SERVER_HOST, port);
      try {
        await client.binding(10_000);
      } finally {
        client.close();
      }
    },
    readyTimeoutMs: 20_000,
  });
  return Object.assign(server, { realm, url: `turn:${SERVER_HOST}:${server.port}?transport=udp` });
}
