import { Unpackr, type Options } from "msgpackr";
import { signToken } from "../../../src/auth/tokens.ts";
import { encodeValue } from "../../../src/protocol/codec.ts";
import { nowNs } from "../../lib/clock.ts";
import { decodeProbe, type Probe } from "../probe.ts";
import type { ClientSpec } from "../protocol.ts";
import { RawWebSocket } from "../wire/raw-websocket.ts";
import { SendTemplate } from "../wire/send-template.ts";
import { clientFrame, OPCODE_BINARY } from "../wire/ws-frames.ts";
import { scheduleAcks } from "./ack-batch.ts";
import type { RouterClientOptions } from "./router-client.ts";
import type { ClientEvents, LoadClient } from "./types.ts";

/** Server frames are trusted here: no syntax walk, and bodies are read before the next frame. */
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "auto" } as unknown as Options);

interface InFrame {
  t: string;
  r?: number;
  chat?: string;
  seq?: number;
  /** Binary for load probes; a string in the events a group sends itself (its creation). */
  body?: Uint8Array | string;
  code?: string;
  recovered?: boolean;
}

/**
 * A device keeps its token across reconnects, as a phone does: a reconnect storm then signs
 * nothing. Keyed by secret and user; the bench's tokens live a day, longer than any run.
 */
const tokens = new Map<string, string>();

async function tokenOf(secret: string, user: string): Promise<string> {
  const key = `${secret}\n${user}`;
  let token = tokens.get(key);
  if (token === undefined) {
    token = await signToken(secret, { user }, 24 * 3600);
    tokens.set(key, token);
  }
  return token;
}

/**
 * The load generator's router client, built to cost as little as the protocol allows: a
 * bare-socket WebSocket (raw-websocket.ts), each `send` a copy of a pre-encoded frame with its
 * numbers patched in (send-template.ts), no promise or timer per message, acks as one
 * watermark per chat per turn. It speaks hello, direct send and ack only, which serves direct
 * ramps, a group's receiving members and the reconnect storm's reconnecting devices (connect
 * resolves on `synced`, messages replayed before it are reported as replayed, and any failure
 * before it rejects, so the storm's backoff retries). Group creation and group sends use
 * BenchRouterClient.
 */
export class LeanRouterClient implements LoadClient {
  nextN = 1;
  readonly lastFrom = new Map<number, number>();
  private nextR = 1;
  private synced = false;
  private socket: RawWebSocket | undefined;
  private template: SendTemplate | undefined;
  /** The peer and body size `template` was built for. */
  private templateTo = "";
  private templateBytes = 0;
  /** r → when that send was written; answers come back in order, so this stays small. */
  private readonly inFlight = new Map<number, number>();
  private readonly acks = new Map<string, number>();
  private onSynced: ((ok: boolean, why?: string) => void) | undefined;

  private constructor(
    readonly spec: ClientSpec,
    private readonly events: ClientEvents,
    private readonly acking: boolean,
  ) {}

  static async connect(spec: ClientSpec, options: RouterClientOptions): Promise<LeanRouterClient> {
    const token = await tokenOf(options.secret, spec.user);
    const client = new LeanRouterClient(spec, options.events, options.acks !== false);
    const timeoutMs = options.timeoutMs ?? 30_000;
    client.socket = await RawWebSocket.connect(
      options.url,
      options.localAddress,
      {
        message: (opcode, payload) => {
          if (opcode === OPCODE_BINARY) client.onFrame(unpackr.unpack(payload) as InFrame);
        },
        ping: () => options.events.ping(),
        closed: (code) => {
          client.onSynced?.(false, `closed ${code} before synced`);
          options.events.closed(client, code);
        },
      },
      timeoutMs,
    );
    const synced = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.onSynced = undefined;
        // A retry opens another connection: this one must not stay behind as a second session.
        client.socket?.terminate();
        reject(new Error("no synced in time"));
      }, timeoutMs);
      client.onSynced = (ok, why) => {
        clearTimeout(timer);
        client.onSynced = undefined;
        if (ok) resolve();
        else reject(new Error(why));
      };
    });
    client.write({ t: "hello", r: client.nextR++, token });
    await synced;
    return client;
  }

  send(to: string, probe: Probe, bodyBytes: number): void {
    const r = this.nextR++;
    // One peer per client in the ramps; another peer or size costs one new template, not a wrong address.
    if (this.template === undefined || this.templateTo !== to || this.templateBytes !== bodyBytes) {
      this.template = new SendTemplate(this.spec.index, to, bodyBytes);
      this.templateTo = to;
      this.templateBytes = bodyBytes;
    }
    this.inFlight.set(r, nowNs());
    this.socket!.write(this.template.render(r, probe));
  }

  flushAcks(): void {
    for (const [chat, seq] of this.acks) this.write({ t: "ack", chat, seq });
    this.acks.clear();
  }

  terminate(): void {
    this.socket?.terminate();
  }

  async close(): Promise<void> {
    await this.socket?.close();
  }

  private write(frame: Record<string, unknown>): void {
    this.socket?.write(clientFrame(OPCODE_BINARY, encodeValue(frame)));
  }

  private onFrame(frame: InFrame): void {
    switch (frame.t) {
      case "msg": {
        const probe = frame.body instanceof Uint8Array ? decodeProbe(frame.body) : undefined;
        if (probe) this.events.probe(this, probe, !this.synced);
        const chat = frame.chat!;
        if (this.acking && frame.seq! > (this.acks.get(chat) ?? 0)) {
          this.acks.set(chat, frame.seq!);
          scheduleAcks(this);
        }
        return;
      }
      case "sent":
        this.answered(frame.r!, undefined);
        return;
      case "err":
        if (frame.r !== undefined) this.answered(frame.r, frame.code);
        return;
      case "synced":
        this.synced = true;
        this.onSynced?.(true);
        return;
    }
  }

  private answered(r: number, errorCode: string | undefined): void {
    const writtenAt = this.inFlight.get(r);
    if (writtenAt === undefined) {
      // An `err` to the hello: the connection will not sync.
      if (!this.synced && errorCode) this.onSynced?.(false, `hello refused: ${errorCode}`);
      return;
    }
    this.inFlight.delete(r);
    this.events.answer(this, nowNs() - writtenAt, errorCode);
  }
}
