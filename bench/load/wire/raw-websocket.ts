import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { isPortTaken, nextSourcePort, SOURCE_PORT_TRIES } from "./source-ports.ts";
import { clientFrame, OPCODE_CLOSE, OPCODE_PONG, ServerFrameReader } from "./ws-frames.ts";

export interface RawWebSocketHandlers {
  message(opcode: number, payload: Buffer): void;
  ping?(): void;
  closed(code: number): void;
}

const HEADER_END = Buffer.from("\r\n\r\n");

/**
 * A WebSocket client over a bare TCP socket: the upgrade, then whole frames written as given.
 * It has no send queue or promise of its own: `write` goes straight to the socket.
 */
export class RawWebSocket {
  private open = true;
  private closeCode = 1006;

  private constructor(
    private readonly socket: Socket,
    handlers: RawWebSocketHandlers,
    leftover: Buffer,
  ) {
    const reader = new ServerFrameReader({
      message: handlers.message,
      ping: (payload) => {
        handlers.ping?.();
        this.write(clientFrame(OPCODE_PONG, payload));
      },
      close: (code) => {
        this.closeCode = code;
        this.write(clientFrame(OPCODE_CLOSE, Buffer.from([code >> 8, code & 0xff])));
        this.socket.end();
      },
    });
    socket.on("data", (chunk: Buffer) => reader.push(chunk));
    socket.on("close", () => {
      this.open = false;
      handlers.closed(this.closeCode);
    });
    socket.on("error", () => {});
    if (leftover.length > 0) reader.push(leftover);
  }

  /**
   * Connects from `localAddress` (from a source port of source-ports.ts), upgrades `url`
   * (ws://host:port/path) and resolves once it is a WebSocket.
   */
  static connect(url: string, localAddress: string, handlers: RawWebSocketHandlers, timeoutMs = 30_000, portTries = SOURCE_PORT_TRIES): Promise<RawWebSocket> {
    const { hostname, port, pathname, search } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port), localAddress, localPort: nextSourcePort(), noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no upgrade from ${url} in ${timeoutMs} ms`));
      }, timeoutMs);
      let head: Buffer = Buffer.alloc(0);
      let settled = false;
      const fail = (error: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        if (settled) return;
        settled = true;
        // A source port still held: the next one, at once (nothing was sent).
        if (isPortTaken(error) && portTries > 1) resolve(RawWebSocket.connect(url, localAddress, handlers, timeoutMs, portTries - 1));
        else reject(error);
      };
      // A server that drops the connection before answering the upgrade (one shedding a
      // reconnect storm) must fail the attempt at once, so the caller's backoff retries it:
      // a clean FIN carries no 'error', and waiting for the timer would stall that client.
      const onClose = (): void => fail(new Error(`closed by ${url} before the upgrade`));
      const onData = (chunk: Buffer): void => {
        head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
        const end = head.indexOf(HEADER_END);
        if (end < 0) return;
        socket.off("data", onData);
        socket.off("error", fail);
        socket.off("close", onClose);
        clearTimeout(timer);
        const status = head.subarray(0, head.indexOf("\r\n")).toString("latin1");
        if (!/^HTTP\/1\.1 101 /.test(status)) {
          socket.destroy();
          reject(new Error(`upgrade refused: ${status}`));
          return;
        }
        resolve(new RawWebSocket(socket, handlers, head.subarray(end + HEADER_END.length)));
      };
      socket.on("data", onData);
      socket.once("error", fail);
      socket.once("close", onClose);
      socket.once("connect", () => {
        socket.write(
          `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** A whole frame, header included (see ws-frames.ts). */
  write(frame: Uint8Array): void {
    if (this.open) this.socket.write(frame);
  }

  terminate(): void {
    this.socket.destroy();
  }

  close(): Promise<void> {
    if (!this.open) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once("close", () => resolve());
      this.closeCode = 1000;
      this.write(clientFrame(OPCODE_CLOSE, Buffer.from([0x03, 0xe8])));
      this.socket.end();
    });
  }
}
