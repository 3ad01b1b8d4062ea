/**
 * The baseline: a chat relay as most Node tutorials write it. `ws` with JSON text frames, a
 * Map from user to socket, no authentication, no persistence, no acknowledgements, no
 * ordering beyond TCP's. Run: node --import tsx bench/baselines/plain-relay.ts PORT
 */
import { WebSocketServer, type WebSocket } from "ws";

const port = Number(process.argv[2] ?? 0);
const sockets = new Map<string, WebSocket>();
const server = new WebSocketServer({ host: "127.0.0.1", port });

server.on("connection", (socket, request) => {
  const user = new URL(request.url ?? "/", "http://relay").searchParams.get("user") ?? "";
  sockets.set(user, socket);
  socket.on("message", (data) => {
    const message = JSON.parse(data.toString()) as { to: string; body: string };
    sockets.get(message.to)?.send(JSON.stringify({ from: user, body: message.body }));
  });
  socket.on("close", () => {
    if (sockets.get(user) === socket) sockets.delete(user);
  });
});

server.on("listening", () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === "object" && address ? address.port : port}\n`);
});
