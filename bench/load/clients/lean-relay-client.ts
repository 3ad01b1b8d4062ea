import { parseProbeText, probeText, type Probe } from "../probe.ts";
import type { ClientSpec } from "../protocol.ts";
import { RawWebSocket } from "../wire/raw-websocket.ts";
import { clientFrame, OPCODE_TEXT } from "../wire/ws-frames.ts";
import type { ClientEvents, LoadClient } from "./types.ts";

/**
 * A client of the plain relay on the same bare-socket WebSocket as the lean router client, so
 * both sides of a router-against-relay ratio pay the same for their load generator.
 */
export class LeanRelayClient implements LoadClient {
  nextN = 1;
  readonly lastFrom = new Map<number, number>();

  private constructor(
    private readonly socket: RawWebSocket,
    readonly spec: ClientSpec,
  ) {}

  static async connect(spec: ClientSpec, url: string, localAddress: string, events: ClientEvents): Promise<LeanRelayClient> {
    let client: LeanRelayClient | undefined;
    const socket = await RawWebSocket.connect(`${url}?user=${encodeURIComponent(spec.user)}`, localAddress, {
      message: (opcode, payload) => {
        if (opcode !== OPCODE_TEXT || !client) return;
        const probe = parseProbeText((JSON.parse(payload.toString()) as { body: string }).body);
        if (probe) events.probe(client, probe, false);
      },
      ping: () => events.ping(),
      closed: (code) => {
        if (client) events.closed(client, code);
      },
    });
    client = new LeanRelayClient(socket, spec);
    return client;
  }

  send(to: string, probe: Probe, bodyBytes: number): void {
    this.socket.write(clientFrame(OPCODE_TEXT, Buffer.from(JSON.stringify({ to, body: probeText(probe, bodyBytes) }))));
  }

  terminate(): void {
    this.socket.terminate();
  }

  close(): Promise<void> {
    return this.socket.close();
  }
}
