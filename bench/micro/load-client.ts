/**
 * What one message costs the load generator's router client, in CPU of its own process (user +
 * system, so the socket write's syscall counts), for the `ws` client (clients/router-client.ts's
 * path) and the lean one (clients/lean-router-client.ts's path):
 *   send: build and write one `send` frame to a socket whose other end discards it;
 *   receive: split one `msg` frame from the byte stream and decode it (no socket: the parser alone).
 *
 *   node --import tsx bench/micro/load-client.ts [MESSAGES=200000]
 *
 * Prints one JSON line of ns per message. The sink runs in a child process, so its CPU is not
 * counted. Compare the two clients within one run: a shared machine moves both.
 */
import { fork } from "node:child_process";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import type { Writable } from "node:stream";
import WebSocket from "ws";
import { Unpackr, type Options } from "msgpackr";
import { decodeValue, encodeFrame, encodeValue } from "../../src/protocol/codec.ts";
import { encodeProbe } from "../load/probe.ts";
import { RawWebSocket } from "../load/wire/raw-websocket.ts";
import { SendTemplate } from "../load/wire/send-template.ts";
import { OPCODE_BINARY, ServerFrameReader } from "../load/wire/ws-frames.ts";

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Child: accept WebSocket upgrades and discard every byte after them. */
function sink(): void {
  const server = createServer((socket) => {
    let upgraded = false;
    socket.on("data", (chunk: Buffer) => {
      if (upgraded) return;
      upgraded = true;
      const key = /Sec-WebSocket-Key: (\S+)/i.exec(chunk.toString("latin1"))?.[1] ?? "";
      const accept = createHash("sha1").update(key + WS_GUID).digest("base64");
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    });
    socket.on("error", () => {});
  });
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    process.send!(typeof address === "object" && address ? address.port : 0);
  });
}

function cpuNsPer(messages: number, run: () => void): number {
  const before = process.cpuUsage();
  run();
  const used = process.cpuUsage(before);
  return Math.round(((used.user + used.system) * 1000) / messages);
}

/** Lets queued socket writes drain between measurements. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 200));

async function main(): Promise<void> {
  const messages = Number(process.argv[2] ?? 200_000);
  const child = fork(import.meta.filename, ["__sink"], { execArgv: ["--import", "tsx"] });
  const port = await new Promise<number>((resolve) => child.once("message", (value) => resolve(Number(value))));
  const url = `ws://127.0.0.1:${port}/ws`;
  const results: Record<string, number> = {};
  const probe = (n: number) => ({ sentAtNs: n * 1000, sender: 7, n });

  const wsClient = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve) => wsClient.once("open", resolve));
  const raw = await RawWebSocket.connect(url, "127.0.0.1", { message: () => {}, closed: () => {} });
  const template = new SendTemplate(7, "p8", 64);
  // Warm both paths up before measuring.
  for (let r = 1; r <= 20_000; r += 1) {
    wsClient.send(encodeValue({ t: "send", r, cid: `7-${r}`, to: "p8", body: encodeProbe(probe(r), 64) }));
    raw.write(template.render(r, probe(r)));
  }
  await settle();
  results.sendWsNs = cpuNsPer(messages, () => {
    for (let r = 1; r <= messages; r += 1) wsClient.send(encodeValue({ t: "send", r, cid: `7-${r}`, to: "p8", body: encodeProbe(probe(r), 64) }));
  });
  await settle();
  results.sendLeanNs = cpuNsPer(messages, () => {
    for (let r = 1; r <= messages; r += 1) raw.write(template.render(r, probe(r)));
  });
  await settle();

  // A server's `msg` frame, as uWS would frame it (unmasked), 64 frames to a chunk.
  const payload = Buffer.from(encodeFrame({ t: "msg", chat: "d:p7:p8", seq: 12_345, from: "p7", ts: 1_796_236_210_507, body: encodeProbe(probe(1), 64), kind: "text" }));
  const one = Buffer.concat([Buffer.from([0x82, 126, payload.length >> 8, payload.length & 0xff]), payload]);
  const chunk = Buffer.concat(Array.from({ length: 64 }, () => one));
  const chunks = Math.ceil(messages / 64);
  let seen = 0;
  // ws's own frame parser, as its client runs it on every chunk it reads (not in @types/ws).
  const { Receiver } = createRequire(import.meta.url)("ws") as { Receiver: new (options: { binaryType: string }) => Writable };
  const receiver = new Receiver({ binaryType: "nodebuffer" });
  receiver.on("message", (data: Buffer) => {
    if ((decodeValue(data) as { seq: number }).seq > 0) seen += 1;
  });
  results.receiveWsNs = cpuNsPer(chunks * 64, () => {
    for (let i = 0; i < chunks; i += 1) receiver.write(chunk);
  });
  const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "auto" } as unknown as Options);
  const reader = new ServerFrameReader({
    message: (opcode, data) => {
      if (opcode === OPCODE_BINARY && (unpackr.unpack(data) as { seq: number }).seq > 0) seen += 1;
    },
    ping: () => {},
    close: () => {},
  });
  results.receiveLeanNs = cpuNsPer(chunks * 64, () => {
    for (let i = 0; i < chunks; i += 1) reader.push(chunk);
  });
  if (seen < 2 * chunks * 64) throw new Error(`only ${seen} frames decoded`);

  wsClient.terminate();
  raw.terminate();
  child.kill();
  process.stdout.write(`${JSON.stringify({ messages, ...results })}\n`);
}

if (process.argv[2] === "__sink") sink();
else await main();
