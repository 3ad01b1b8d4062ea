import cassandra, { type Client } from "cassandra-driver";
import type { Stores } from "../stores.ts";
import type { Logger } from "../../util/logger.ts";
import { createCqlClient } from "./client.ts";
import { CqlCursorStore } from "./cursor-store.ts";
import { toStorageError } from "./errors.ts";
import { CqlGroupStore } from "./group-store.ts";
import { CqlKeyStore } from "./key-store.ts";
import { CqlLastSeenStore } from "./last-seen-store.ts";
import { CqlMessageStore } from "./message-store.ts";
import { migrate, SchemaNotReadyError, verifySchema, type Replication } from "./migrate.ts";
import { CqlPushRegistrationStore } from "./push-store.ts";
import { CqlAccountStore } from "./account-store.ts";
import { CqlGroupInviteStore, CqlPrivacyStore } from "./privacy-store.ts";
import { CqlProfileStore } from "./profile-store.ts";
import { CqlStatusStore } from "./status-store.ts";
import { CqlReceiptStore } from "./receipt-store.ts";
import { CqlUserSetStore } from "./user-set-store.ts";
import { CqlSession } from "./session.ts";

export { migrate, verifySchema, SchemaNotReadyError, MigrationChecksumError, type Replication } from "./migrate.ts";
export { SEQS_PER_BUCKET } from "./buckets.ts";

export interface CqlConnectionOptions {
  /** `host` or `host:port` of some nodes; the driver discovers the rest. */
  contactPoints: readonly string[];
  localDataCenter: string;
  logger?: Logger;
  /** Per request; default 10 s. */
  requestTimeoutMs?: number;
  /** Default 5 s. */
  connectTimeoutMs?: number;
  /** The driver's schema and topology event debounce; default 1000 ms, tests use a few ms. */
  schemaRefreshDelayMs?: number;
}

export interface CqlStoreOptions extends CqlConnectionOptions {
  /** Lower case, letters, digits and `_`. */
  keyspace: string;
  /**
   * Used only when the keyspace is created. Default: NetworkTopologyStrategy in
   * localDataCenter with 3 replicas, or as many as the data centre has nodes when fewer
   * (a development node), which is logged as a warning.
   */
  replication?: Replication;
  /**
   * true (default): create the keyspace and apply missing migrations. false: only check that
   * they were applied (`router db migrate`), and reject with SchemaNotReadyError if not.
   */
  migrate?: boolean;
}

/** Most replicas a keyspace gets by default: LOCAL_QUORUM (2 of 3) survives one node down. */
const DEFAULT_REPLICAS = 3;

/**
 * Stores on Apache Cassandra or ScyllaDB. Connects, migrates or verifies the keyspace, and
 * rejects with StorageUnavailableError when the cluster cannot be reached.
 *
 * A batch of messages is one LOGGED batch across partitions; the cluster's
 * batch_size_fail_threshold must be above the largest append (Cassandra defaults to 50 KiB,
 * ScyllaDB to 1 MiB), or an append is rejected with the driver's "Batch too large" error.
 */
export async function openCqlStores(options: CqlStoreOptions): Promise<Stores> {
  const logger = options.logger?.child({ component: "cql" });
  const client = await connectCql({ ...options, ...(logger ? { logger } : {}) });
  try {
    if (options.migrate === false) {
      await verifySchema(client, options.keyspace);
    } else {
      const replication = options.replication ?? defaultReplication(client, options.localDataCenter, logger);
      await migrate(client, options.keyspace, replication, logger);
    }
  } catch (error) {
    await client.shutdown().catch(() => undefined);
    throw error instanceof SchemaNotReadyError ? error : toStorageError("connect", error);
  }
  logger?.info({ keyspace: options.keyspace, contactPoints: options.contactPoints }, "cql stores open");

  const session = new CqlSession(client);
  return {
    backend: "cql",
    messages: new CqlMessageStore(session),
    cursors: new CqlCursorStore(session),
    receipts: new CqlReceiptStore(session),
    groups: new CqlGroupStore(session),
    presence: new CqlLastSeenStore(session),
    keys: new CqlKeyStore(session),
    push: new CqlPushRegistrationStore(session),
    accounts: new CqlAccountStore(session),
    privacy: new CqlPrivacyStore(session),
    invites: new CqlGroupInviteStore(session),
    profiles: new CqlProfileStore(session),
    contacts: new CqlUserSetStore(session, "user_contacts"),
    blocks: new CqlUserSetStore(session, "user_blocks"),
    status: new CqlStatusStore(session),
    close: () => client.shutdown(),
  };
}

/**
 * A connected driver client with no keyspace, for the stores and for `router db migrate`.
 * Rejects with StorageUnavailableError when no contact point answers, and with
 * CqlConfigurationError when every contact point refused the configuration (a localDataCenter the cluster does not
 * have): retrying that cannot help.
 */
export async function connectCql(options: CqlConnectionOptions): Promise<Client> {
  const client = createCqlClient({
    contactPoints: options.contactPoints,
    localDataCenter: options.localDataCenter,
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    schemaRefreshDelayMs: options.schemaRefreshDelayMs ?? 1_000,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  try {
    await client.connect();
  } catch (error) {
    await client.shutdown().catch(() => undefined);
    const misconfigured = configurationError(error);
    if (misconfigured) closeLeakedControlConnection(client);
    throw misconfigured ?? toStorageError("connect", error);
  }
  return client;
}

/** The cluster refused this client's configuration (e.g. a localDataCenter it does not have). */
export class CqlConfigurationError extends Error {
  override readonly name = "CqlConfigurationError";
}

function configurationError(error: unknown): Error | undefined {
  if (!(error instanceof cassandra.errors.NoHostAvailableError)) return undefined;
  const inner: unknown[] = Object.values(error.innerErrors ?? {});
  if (inner.length === 0 || !inner.every((cause) => cause instanceof cassandra.errors.ArgumentError)) return undefined;
  const [first] = inner as Error[];
  return new CqlConfigurationError(`cql configuration rejected: ${first?.message ?? "unknown"}`, { cause: error });
}

interface ControlConnectionInternals {
  controlConnection?: { connection?: { close?: (callback?: () => void) => void } | null };
}

// cassandra-driver 4.x leaks the control connection when its topology check throws: the socket
// is neither pooled nor closed, and shutdown() returns early on a client that never connected,
// so a start-up with a wrong localDataCenter could never exit.
function closeLeakedControlConnection(client: Client): void {
  (client as unknown as ControlConnectionInternals).controlConnection?.connection?.close?.();
}

/** 3 replicas in the local data centre, or as many as it has nodes when fewer (logged). */
export function defaultReplication(client: Client, dataCenter: string, logger: Logger | undefined): Replication {
  const nodes = client.hosts.values().filter((host) => host.datacenter === dataCenter).length;
  const replicas = Math.max(1, Math.min(DEFAULT_REPLICAS, nodes));
  if (replicas < DEFAULT_REPLICAS) {
    logger?.warn(
      { dataCenter, nodes, replicas },
      "cql data centre has fewer nodes than the default replication; a new keyspace gets fewer replicas",
    );
  }
  return { class: "NetworkTopologyStrategy", [dataCenter]: replicas };
}
