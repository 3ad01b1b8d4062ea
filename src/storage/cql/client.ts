import cassandra, { type Client } from "cassandra-driver";
import type { Logger } from "../../util/logger.ts";

export interface CqlClientOptions {
  /** `host` or `host:port`. */
  contactPoints: readonly string[];
  /** The data centre this process runs in: token-aware routing only picks its replicas. */
  localDataCenter: string;
  /** Client-side limit per request; above the server's own 2 s write / 5 s read timeouts. */
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  /**
   * How long the driver gathers schema and topology events before refreshing its metadata
   * (driver default 1000 ms). Tests that create keyspaces lower it.
   */
  schemaRefreshDelayMs: number;
  logger?: Logger;
}

const RECONNECT_BASE_MS = 250;
const RECONNECT_MAX_MS = 2_000;

/**
 * A driver client for the stores. No keyspace yet: migrate() creates it and switches to it.
 * The driver's default load balancing is token-aware over DC-aware round robin once
 * localDataCenter is set, and prepared statements carry the routing key, so nothing more is
 * configured for it.
 */
export function createCqlClient(options: CqlClientOptions): Client {
  const client = new cassandra.Client({
    contactPoints: [...options.contactPoints],
    localDataCenter: options.localDataCenter,
    socketOptions: {
      connectTimeout: options.connectTimeoutMs,
      readTimeout: options.requestTimeoutMs,
    },
    refreshSchemaDelay: options.schemaRefreshDelayMs,
    policies: {
      // The driver's default backs off to 10 minutes between attempts: after a few minutes of
      // outage a node would stay unavailable for minutes after the cluster is back. Chat
      // traffic wants it back within seconds, and a reconnect attempt costs one TCP connect.
      reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(
        RECONNECT_BASE_MS,
        RECONNECT_MAX_MS,
        false,
      ),
    },
    queryOptions: { consistency: cassandra.types.consistencies.localQuorum },
    // Insights reporting is a DataStax Enterprise feature; against Cassandra it only costs a request.
    monitorReporting: { enabled: false },
  });
  if (options.logger) forwardDriverLog(client, options.logger);
  shutDownReplacedHosts(client);
  return client;
}

interface ShutdownableHost {
  shutdown?: (waitForPending: boolean) => Promise<void>;
}

// When the control connection re-initialises after every node was unreachable (a one-node
// cluster restarting), cassandra-driver 4.x replaces each Host with a new object without
// shutting the old one down: its pool keeps trying to reconnect and its health timer keeps
// running, forever, so a process that closed its stores could never exit. The driver shuts
// down the hosts it removes itself, so shutting a replaced one down here is what it meant to do.
function shutDownReplacedHosts(client: Client): void {
  client.on("hostRemove", (host: ShutdownableHost) => {
    void host.shutdown?.(false).catch(() => undefined);
  });
}

// The driver's `info` is connection chatter, `verbose` a per-request trace: both go to debug,
// and are only formatted when debug is on.
function forwardDriverLog(client: Client, logger: Logger): void {
  client.on("log", (level: string, source: string, message: string, furtherInfo: unknown) => {
    const fields = furtherInfo ? { source, furtherInfo } : { source };
    if (level === "error") logger.error(fields, `cql driver: ${message}`);
    else if (level === "warning") logger.warn(fields, `cql driver: ${message}`);
    else if (logger.isLevelEnabled("debug")) logger.debug(fields, `cql driver: ${message}`);
  });
}
