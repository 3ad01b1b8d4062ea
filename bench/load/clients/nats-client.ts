import { connect, type NatsConnection } from "nats";
import { decodeProbe, encodeProbe, type Probe } from "../probe.ts";
import type { ClientSpec } from "../protocol.ts";
import type { ClientEvents, LoadClient } from "./types.ts";

/**
 * NATS core pub/sub as the routing ceiling without persistence: each simulated device holds
 * its own NATS connection, subscribed to its user's subject, as it would hold a WebSocket.
 */
export class NatsLoadClient implements LoadClient {
  nextN = 1;
  readonly lastFrom = new Map<number, number>();

  private constructor(
    private readonly connection: NatsConnection,
    readonly spec: ClientSpec,
  ) {}

  static async connect(spec: ClientSpec, url: string, events: ClientEvents): Promise<NatsLoadClient> {
    const connection = await connect({ servers: url, noEcho: true, reconnect: false, pingInterval: 60_000 });
    const client = new NatsLoadClient(connection, spec);
    connection.subscribe(`u.${spec.user}`, {
      callback: (_error, message) => {
        const probe = decodeProbe(message.data);
        if (probe) events.probe(client, probe, false);
      },
    });
    void connection.closed().then(() => events.closed(client, 1000));
    // The subscription must reach the server before anyone publishes to it.
    await connection.flush();
    return client;
  }

  send(to: string, probe: Probe, bodyBytes: number): void {
    this.connection.publish(`u.${to}`, encodeProbe(probe, bodyBytes));
  }

  terminate(): void {
    void this.connection.close();
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
