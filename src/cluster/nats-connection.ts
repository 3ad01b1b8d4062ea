/**
 * The node's one NATS connection: how it is opened and how its state changes are reported.
 * Membership and remote dispatch share it; whoever opened it closes it.
 */
import { connect, DebugEvents, Events, type NatsConnection, type ServersChanged, type Status } from "nats";
import type { Logger } from "pino";

export interface NatsConnectionConfig {
  /** One URL or several of the same NATS cluster, e.g. "nats://127.0.0.1:4222". */
  servers: string | string[];
  /** Shown by the server's monitoring (connz), so operators can tell nodes apart. */
  name: string;
  /** Pause between reconnect attempts to the same server. */
  reconnectWaitMs: number;
  /** How long the first connect (dial and handshake) may take before it rejects. */
  connectTimeoutMs: number;
  /** Client pings; a server that misses two in a row is treated as gone. */
  pingIntervalMs: number;
}

export function natsConnectionDefaults(): Omit<NatsConnectionConfig, "servers" | "name"> {
  return { reconnectWaitMs: 1_000, connectTimeoutMs: 5_000, pingIntervalMs: 10_000 };
}

export class NatsConnectError extends Error {
  override readonly name = "NatsConnectError";
}

/**
 * Rejects if no server answers the first time: a node that cannot reach its cluster at start
 * should fail loudly, not sit silently waiting (nats.node#439 explains why waitOnFirstConnect
 * would hang instead). Once connected it reconnects forever: nats.js gives up after 10
 * attempts by default, which would silently orphan a node during a long NATS outage.
 */
export async function connectNats(
  config: Pick<NatsConnectionConfig, "servers" | "name"> & Partial<NatsConnectionConfig>,
  logger: Logger,
): Promise<NatsConnection> {
  const settings = { ...natsConnectionDefaults(), ...config };
  try {
    const connection = await connect({
      servers: settings.servers,
      name: settings.name,
      reconnect: true,
      maxReconnectAttempts: -1,
      waitOnFirstConnect: false,
      reconnectTimeWait: settings.reconnectWaitMs,
      timeout: settings.connectTimeoutMs,
      pingInterval: settings.pingIntervalMs,
    });
    logger.info({ server: connection.getServer(), name: settings.name }, "nats connected");
    return connection;
  } catch (error) {
    throw new NatsConnectError(`cannot connect to NATS at ${String(settings.servers)}`, { cause: error });
  }
}

/** What happened to the connection, as a closed union the application can switch on. */
export type ConnectionStatus =
  | { type: "disconnected"; server: string }
  | { type: "reconnecting"; server: string }
  | { type: "reconnected"; server: string }
  | { type: "stale" }
  | { type: "serversChanged"; added: readonly string[]; deleted: readonly string[] }
  | { type: "lameDuck"; server: string }
  | { type: "serverError"; code: string }
  | { type: "closed"; error?: Error };

/** Translates nats.js statuses; pings and client-initiated reconnects are left out as noise. */
export function toConnectionStatus(status: Status): ConnectionStatus | undefined {
  const text = typeof status.data === "string" ? status.data : String(status.data);
  switch (status.type) {
    case Events.Disconnect:
      return { type: "disconnected", server: text };
    case DebugEvents.Reconnecting:
      return { type: "reconnecting", server: text };
    case Events.Reconnect:
      return { type: "reconnected", server: text };
    case DebugEvents.StaleConnection:
      return { type: "stale" };
    case Events.Update: {
      const change = status.data as ServersChanged;
      return { type: "serversChanged", added: change.added ?? [], deleted: change.deleted ?? [] };
    }
    case Events.LDM:
      return { type: "lameDuck", server: text };
    case Events.Error:
      return { type: "serverError", code: text };
    default:
      return undefined;
  }
}

/**
 * Calls `onStatus` for every state change of `connection`, ending with `closed`.
 * Returns a function that stops watching (without closing the connection).
 */
export function watchConnectionStatus(
  connection: NatsConnection,
  onStatus: (status: ConnectionStatus) => void,
): () => void {
  const statuses = connection.status();
  let watching = true;
  const stop = (): void => {
    watching = false;
    // nats.js never ends a status iterator on its own, not even on close; its iterators
    // have stop(), which ends the loop below and drops the connection's reference to it.
    if (hasStop(statuses)) statuses.stop();
  };
  void (async () => {
    for await (const raw of statuses) {
      if (!watching) break;
      const status = toConnectionStatus(raw);
      if (status) onStatus(status);
    }
  })();
  void connection.closed().then((error) => {
    if (!watching) return;
    stop();
    onStatus(error instanceof Error ? { type: "closed", error } : { type: "closed" });
  });
  return stop;
}

function hasStop(value: unknown): value is { stop(): void } {
  return typeof (value as { stop?: unknown }).stop === "function";
}
