/**
 * The ceiling of this design: the minimal durable router (uWebSockets.js + msgpackr + LMDB in
 * one process, no actors) that the real router is measured against. It speaks the subset of
 * protocol v1 the bench's clients use (hello, send, ack, read, ping) and does the same durable
 * work per message. Run: node --import tsx bench/baselines/ceiling/server.ts PORT SECRET [DATA_DIR]
 * It prints `listening PORT` once ready.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import uWS from "uWebSockets.js";
import { CeilingRouter } from "./ceiling-router.ts";
import type { CeilingConnection } from "./outbox.ts";
import { CeilingStore } from "./store.ts";

interface SocketData {
  connection?: CeilingConnection;
}

const port = Number(process.argv[2] ?? 0);
const secret = process.argv[3] ?? "";
const dataDir = process.argv[4] ?? mkdtempSync(join(tmpdir(), "ceiling-"));

const store = new CeilingStore(dataDir);
const router = new CeilingRouter(store, secret);

const app = uWS.App();
app.ws<SocketData>("/ws", {
  compression: uWS.DISABLED,
  maxPayloadLength: 256 * 1024,
  maxBackpressure: 4 * 1024 * 1024,
  idleTimeout: 120,
  sendPingsAutomatically: true,
  open: (socket) => {
    socket.getUserData().connection = router.connect(socket as uWS.WebSocket<unknown>);
  },
  message: (socket, message, isBinary) => {
    const connection = socket.getUserData().connection;
    // uWS reuses the message's memory once this returns; the codec copies what it keeps.
    if (connection && isBinary) router.onMessage(connection, new Uint8Array(message));
  },
  close: (socket) => {
    const connection = socket.getUserData().connection;
    if (connection) router.disconnect(connection);
  },
});
app.get("/healthz", (res) => {
  res.end("ok");
});
app.listen("127.0.0.1", port, (listenSocket) => {
  if (!listenSocket) {
    process.stderr.write(`ceiling: cannot listen on ${port}\n`);
    process.exit(1);
  }
  process.stdout.write(`listening ${uWS.us_socket_local_port(listenSocket)}\n`);
});

process.on("SIGTERM", () => {
  router.stop();
  void store.close().finally(() => process.exit(0));
});
