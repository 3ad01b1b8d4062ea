import WebSocket from "ws";
import { signToken } from "../../../src/auth/tokens.ts";
import { decodeValue, encodeValue } from "../../../src/protocol/codec.ts";
import type { ServerFrame } from "../../../src/protocol/frames.ts";
import { nowNs } from "../../lib/clock.ts";
import { decodeProbe, encodeProbe, type Probe } from "../probe.ts";
import type { ClientSpec } from "../protocol.ts";
import { scheduleAcks } from "./ack-batch.ts";
import type { ClientEvents, LoadClient } from "./types.ts";

export interface RouterClientOptions {
  url: string;
  secret: string;
  localAddress: string;
  events: ClientEvents;
  acks?: boolean;
  timeoutMs?: number;
}

/**
 * A lean protocol v1 client for load: sdk/client.ts keeps every frame it ever received (fine
 * for tests, a leak at a million messages), so the bench speaks the same frames through the
 * same codec without the bookkeeping.
 */
export class BenchRouterClient implements LoadClient {
  nextN = 1;
  readonly lastFrom = new Map<number, number>();
  private nextR = 1;
  private synced = false;
  /** Send requests awaiting `sent`: r → when the send was written. */
  private readonly inFlight = new Map<number, number>();
  private readonly waiters = new Map<number, (frame: ServerFrame) => void>();
  private readonly acks = new Map<string, number>();
  private onSynced: ((recovered: boolean) => void) | undefined;

  private constructor(
    private readonly socket: WebSocket,
    readonly spec: ClientSpec,
    private readonly events: ClientEvents,
    private readonly acking: boolean,
  ) {
    socket.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.onFrame(decodeValue(data) as ServerFrame);
    });
    socket.on("ping", () => events.ping());
    socket.on("close", (code: number) => {
      for (const resolve of this.waiters.values()) resolve({ t: "err", code: "shutting_down", msg: `closed ${code}` });
      this.waiters.clear();
      events.closed(this, code);
    });
    socket.on("error", () => {});
  }

  /** Opens a socket from `localAddress`, says hello and resolves once the router has `synced`. */
  static async connect(spec: ClientSpec, options: RouterClientOptions): Promise<BenchRouterClient> {
    const token = await signToken(options.secret, { user: spec.user }, 24 * 3600);
    const socket = new WebSocket(options.url, { localAddress: options.localAddress, perMessageDeflate: false, handshakeTimeout: options.timeoutMs ?? 30_000 });
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
      socket.once("unexpected-response", (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
    });
    const client = new BenchRouterClient(socket, spec, options.events, options.acks !== false);
    const synced = new Promise<boolean>((resolve, reject) => {
      client.onSynced = resolve;
      socket.once("close", (code: number) => reject(new Error(`closed ${code} before synced`)));
      setTimeout(() => reject(new Error("no synced in time")), options.timeoutMs ?? 30_000).unref();
    });
    client.write({ t: "hello", r: client.nextR++, token });
    await synced;
    return client;
  }

  send(to: string, probe: Probe, bodyBytes: number, group = false): void {
    const r = this.nextR++;
    this.inFlight.set(r, nowNs());
    const target = group ? { group: to } : { to };
    this.write({ t: "send", r, cid: `${this.spec.index}-${r}`, ...target, body: encodeProbe(probe, bodyBytes) });
  }

  /** A request whose answer the caller awaits (group.create). */
  request(frame: Record<string, unknown>): Promise<ServerFrame> {
    const r = this.nextR++;
    return new Promise((resolve) => {
      this.waiters.set(r, resolve);
      this.write({ ...frame, r });
    });
  }

  flushAcks(): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    for (const [chat, seq] of this.acks) this.write({ t: "ack", chat, seq });
    this.acks.clear();
  }

  terminate(): void {
    this.socket.terminate();
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.close(1000, "bye");
    });
  }

  private write(frame: Record<string, unknown>): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(encodeValue(frame));
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.t) {
      case "msg": {
        const probe = typeof frame.body === "string" ? undefined : decodeProbe(frame.body);
        if (probe) this.events.probe(this, probe, !this.synced);
        if (this.acking && frame.seq > (this.acks.get(frame.chat) ?? 0)) {
          this.acks.set(frame.chat, frame.seq);
          scheduleAcks(this);
        }
        return;
      }
      case "sent":
        this.answered(frame.r, undefined);
        return;
      case "err":
        if (frame.r !== undefined) this.answered(frame.r, frame.code, frame);
        return;
      case "synced":
        this.synced = true;
        this.onSynced?.(frame.recovered);
        return;
      default:
        if ("r" in frame && typeof frame.r === "number") this.answered(frame.r, undefined, frame);
    }
  }

  private answered(r: number, errorCode: string | undefined, frame?: ServerFrame): void {
    const waiter = this.waiters.get(r);
    if (waiter) {
      this.waiters.delete(r);
      waiter(frame ?? ({ t: "sent", r } as ServerFrame));
      return;
    }
    const writtenAt = this.inFlight.get(r);
    if (writtenAt === undefined) return;
    this.inFlight.delete(r);
    this.events.answer(this, nowNs() - writtenAt, errorCode);
  }
}
