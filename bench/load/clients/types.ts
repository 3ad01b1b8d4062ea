import type { ClientSpec } from "../protocol.ts";
import type { Probe } from "../probe.ts";

/** What a load process hears from its clients; one set of handlers for all of them. */
export interface ClientEvents {
  /** A probe arrived; `replayed` when the router handed it during the hello sync. */
  probe(client: LoadClient, probe: Probe, replayed: boolean): void;
  /** A durable acknowledgement (`sent`) or a refusal (`err`) of a send, `ns` after it was written. */
  answer(client: LoadClient, ns: number, errorCode: string | undefined): void;
  ping(): void;
  closed(client: LoadClient, code: number): void;
}

/** One simulated device, whatever it is connected to. */
export interface LoadClient {
  readonly spec: ClientSpec;
  /** Number of the next probe this client sends. */
  nextN: number;
  /** Per sender index: the number of the last probe received from it. */
  readonly lastFrom: Map<number, number>;
  /** Sends `probe` in a body of `bodyBytes` to `to`'s devices (directly, or to a group chat id with `group`). */
  send(to: string, probe: Probe, bodyBytes: number, group?: boolean): void;
  /** Drops the TCP connection without a close handshake, as a phone losing signal does. */
  terminate(): void;
  close(): Promise<void>;
}
