import WebSocket from "ws";
import { parseProbeText, probeText, type Probe } from "../probe.ts";
import type { ClientSpec } from "../protocol.ts";
import type { ClientEvents, LoadClient } from "./types.ts";

/** A client of bench/baselines/plain-relay.ts: JSON text frames, the user named in the URL. */
export class RelayClient implements LoadClient {
  nextN = 1;
  readonly lastFrom = new Map<number, number>();

  private constructor(
    private readonly socket: WebSocket,
    readonly spec: ClientSpec,
    events: ClientEvents,
  ) {
    socket.on("message", (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { from: string; body: string };
      const probe = parseProbeText(message.body);
      if (probe) events.probe(this, probe, false);
    });
    socket.on("close", (code: number) => events.closed(this, code));
    socket.on("error", () => {});
  }

  static async connect(spec: ClientSpec, url: string, localAddress: string, events: ClientEvents): Promise<RelayClient> {
    const socket = new WebSocket(`${url}?user=${encodeURIComponent(spec.user)}`, { localAddress, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    return new RelayClient(socket, spec, events);
  }

  send(to: string, probe: Probe, bodyBytes: number): void {
    this.socket.send(JSON.stringify({ to, body: probeText(probe, bodyBytes) }));
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
}
