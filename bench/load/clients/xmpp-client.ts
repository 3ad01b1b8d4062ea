import { nowNs } from "../../lib/clock.ts";
import { parseProbeText, probeText, type Probe } from "../probe.ts";
import type { ClientSpec } from "../protocol.ts";
import { XmppConnection, type XmppEndpoint } from "../wire/xmpp-connection.ts";
import type { ClientEvents, LoadClient } from "./types.ts";

/** Every bench account has this password: the XMPP server is loopback-only and thrown away. */
const PASSWORD = "bench";
const SETUP_TIMEOUT_MS = 30_000;

/**
 * A simulated device on the XMPP baseline (ejabberd): registers its account in-band, logs in
 * with stream management on and sends chat messages, each followed by an ack request whose
 * answer (`<a h=>`) stands for the router's durable `sent`.
 */
export class XmppLoadClient implements LoadClient {
  nextN = 1;
  readonly lastFrom = new Map<number, number>();
  /** Stanza numbers awaiting the server's ack and when each was written, oldest first. */
  private readonly unacked: Array<[number, number]> = [];
  private unackedHead = 0;

  private constructor(
    readonly spec: ClientSpec,
    private readonly connection: XmppConnection,
  ) {}

  static async connect(spec: ClientSpec, endpoint: XmppEndpoint, localAddress: string, events: ClientEvents): Promise<XmppLoadClient> {
    const registration = await XmppConnection.connect(endpoint, localAddress, { message: () => {}, handled: () => {}, closed: () => {} });
    try {
      await registration.register(spec.user, PASSWORD, SETUP_TIMEOUT_MS);
    } finally {
      await registration.close();
    }
    let client: XmppLoadClient | undefined;
    const connection = await XmppConnection.connect(endpoint, localAddress, {
      message: (body) => {
        const probe = parseProbeText(body);
        if (probe && client) events.probe(client, probe, false);
      },
      handled: (h) => client?.onHandled(h, events),
      closed: () => {
        if (client) events.closed(client, 1006);
      },
    });
    client = new XmppLoadClient(spec, connection);
    try {
      await connection.login(spec.user, PASSWORD, SETUP_TIMEOUT_MS);
    } catch (error) {
      connection.terminate();
      throw error;
    }
    return client;
  }

  send(to: string, probe: Probe, bodyBytes: number): void {
    const stanza = this.connection.sendChat(to, probeText(probe, bodyBytes));
    this.unacked.push([stanza, nowNs()]);
  }

  terminate(): void {
    this.connection.terminate();
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  private onHandled(h: number, events: ClientEvents): void {
    const now = nowNs();
    while (this.unackedHead < this.unacked.length && this.unacked[this.unackedHead]![0] <= h) {
      events.answer(this, now - this.unacked[this.unackedHead]![1], undefined);
      this.unackedHead += 1;
    }
    if (this.unackedHead > 4096) {
      this.unacked.splice(0, this.unackedHead);
      this.unackedHead = 0;
    }
  }
}
