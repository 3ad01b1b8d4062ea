import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { readSecretFile } from "../auth/secret-file.ts";
import { NoSecretError, signToken, readSecret } from "../auth/tokens.ts";
import { ConfigError, configFromEnvironment, setConfigValue, validateConfig, type ConfigKey } from "../config.ts";
import { NoSuchNodeError } from "../cluster/admin.ts";
import { NatsConnectError } from "../cluster/nats-connection.ts";
import { startNode } from "../node.ts";
import { DataDirInUseError } from "../storage/data-dir-lock.ts";
import { migrateKeyspace } from "../storage/open-stores.ts";
import { openRevocationStore } from "../storage/open-revocations.ts";
import { RedisConfigError } from "../storage/redis/connection.ts";
import { DEVICE_ID_PATTERN, isUserId } from "../protocol/frames.ts";
import { ListenError } from "../transport/server.ts";
import { StorageUnavailableError } from "../storage/errors.ts";
import { createLogger } from "../util/logger.ts";
import { clusterRingCommand, clusterStatusCommand, clusterWhereCommand, nodeDrainCommand } from "./cluster-commands.ts";

const USAGE = `router: a WhatsApp-class message router

Usage:
  router node start [--host H] [--port P] [--data DIR] [--secret-file PATH | --secret S] [--log-level L] [--node-id ID]
                    [--nats URL [--cluster-prefix P]] [--scylla HOSTS --redis URL [--keyspace K] [--local-dc DC]]
      Runs one node. Every flag also comes from the environment:
      ROUTER_HOST, ROUTER_PORT, ROUTER_DATA, ROUTER_SECRET_FILE, ROUTER_SECRET, ROUTER_LOG_LEVEL,
      ROUTER_NODE_ID, ROUTER_NATS, ROUTER_CLUSTER_PREFIX, ROUTER_SCYLLA, ROUTER_REDIS,
      ROUTER_KEYSPACE, ROUTER_LOCAL_DC.
      Without --scylla, messages live in LMDB under --data; with it, in ScyllaDB / Cassandra
      (HOSTS: host[:port],...) and presence in Redis. The keyspace must be migrated first.
      A cluster (--nats) needs --scylla and --redis. --secret shows in \`ps\`: use it for
      development, --secret-file otherwise. The node refuses to start on a port or a data
      directory another process holds.
      --unsafe-local-store-cluster (ROUTER_UNSAFE_LOCAL_STORE_CLUSTER=true): development only,
      lets a cluster run on each node's own LMDB. It LOSES acknowledged messages whenever a
      chat's owner changes (a node dies, drains or joins).
  router db migrate --scylla HOSTS [--keyspace K] [--local-dc DC] [--replication N]
      Creates the keyspace (N replicas in DC; default 3, fewer on a smaller cluster) and
      applies the CQL migrations it lacks. Safe to run again.
  router token --user U [--device D] [--ttl SECONDS] [--secret-file PATH | --secret S | --data DIR]
      Prints a client token (HS256), good for 24 hours unless --ttl says otherwise (0: never
      expires). Without --secret-file or --secret (or ROUTER_SECRET_FILE, ROUTER_SECRET) it
      reads the secret a node generated in its data directory (default ./data).
  router token revoke --user U [--device D] [--data DIR | --redis URL]
      Voids every token of U (used on device D) issued until now; live connections on them
      close with 4001 within a second. A node alone: its data directory (ROUTER_DATA). A
      cluster: its Redis (ROUTER_REDIS, key prefix ROUTER_REDIS_PREFIX). Nodes need not run.
  router cluster status [--nats URL] [--prefix P] [--json]
      Every node: address, version, up since, connections, actors.
  router cluster ring [--nats URL] [--prefix P] [--json]
      Each node's share of users and chats.
  router cluster where <user|chat> [--nats URL] [--prefix P] [--json]
      The node that owns a user's or a chat's actor.
  router node drain <node-id> [--nats URL] [--prefix P]
      Has a node leave the ring, hand its actors over, send its clients elsewhere and stop.
      The cluster commands talk to the cluster over NATS (ROUTER_NATS, ROUTER_CLUSTER_PREFIX).
  router help
`;

/** Flags of `node start` and the config key each one sets. */
export const NODE_FLAGS: Record<string, ConfigKey> = {
  host: "host",
  port: "port",
  data: "dataDir",
  secret: "secret",
  "secret-file": "secretFile",
  "log-level": "logLevel",
  "node-id": "nodeId",
  nats: "cluster.nats",
  "cluster-prefix": "cluster.subjectPrefix",
  scylla: "storage.scylla",
  redis: "storage.redis",
  keyspace: "storage.keyspace",
  "local-dc": "storage.localDc",
};

/** Flags of `db migrate` and the config key each one sets. */
export const DB_FLAGS: Record<string, ConfigKey> = {
  scylla: "storage.scylla",
  keyspace: "storage.keyspace",
  "local-dc": "storage.localDc",
  replication: "storage.replication",
  "log-level": "logLevel",
};

async function dbMigrate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: Object.fromEntries(Object.keys(DB_FLAGS).map((flag) => [flag, { type: "string" as const }])),
    strict: true,
  });
  const config = configFromEnvironment(process.env);
  for (const [flag, key] of Object.entries(DB_FLAGS)) {
    const value = values[flag];
    if (typeof value === "string") setConfigValue(config, key, value);
  }
  const applied = await migrateKeyspace(config, createLogger(config.logLevel, "db-migrate"));
  const done = applied.length > 0 ? `applied migrations ${applied.join(", ")}` : "already up to date";
  process.stdout.write(`keyspace ${config.storage.keyspace}: ${done}\n`);
  return 0;
}

async function nodeStart(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...Object.fromEntries(Object.keys(NODE_FLAGS).map((flag) => [flag, { type: "string" as const }])),
      "unsafe-local-store-cluster": { type: "boolean" as const },
    },
    strict: true,
  });
  const config = configFromEnvironment(process.env);
  const flags = values as Record<string, string | boolean | undefined>;
  for (const [flag, key] of Object.entries(NODE_FLAGS)) {
    const value = flags[flag];
    if (typeof value === "string") setConfigValue(config, key, value);
  }
  if (flags["unsafe-local-store-cluster"] === true) config.cluster.unsafeLocalStore = true;
  // A secret flag wins over the other kind from the environment (both as flags is an error).
  if (flags["secret-file"] !== undefined && flags.secret === undefined) config.secret = "";
  if (flags.secret !== undefined && flags["secret-file"] === undefined) config.secretFile = "";
  const node = await startNode(validateConfig(config));
  // A supervisor (systemd, Kubernetes) stops us with SIGTERM, an operator with `node drain`:
  // either way the node drains and the process exits cleanly.
  const shutdown = () => void node.stop();
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
  await node.stopped;
  return 0;
}

/** Tokens live a day by default: a client refreshes (`refresh`) or reconnects with a new one. */
const DEFAULT_TOKEN_TTL_SECONDS = 24 * 3600;

async function tokenRevoke(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { user: { type: "string" }, device: { type: "string" }, data: { type: "string" }, redis: { type: "string" } },
    strict: true,
  });
  if (!values.user) throw new ConfigError("--user is required");
  if (!isUserId(values.user)) throw new ConfigError("--user must be a user id (1-64 of A-Za-z0-9_.@+-)");
  if (values.device !== undefined && !DEVICE_ID_PATTERN.test(values.device)) {
    throw new ConfigError("--device must be a device id (1-64 of A-Za-z0-9_.@+-)");
  }
  if (values.data !== undefined && values.redis !== undefined) throw new ConfigError("--data (a node alone) and --redis (a cluster) exclude each other");
  const config = configFromEnvironment(process.env);
  if (values.data !== undefined) {
    setConfigValue(config, "dataDir", values.data);
    setConfigValue(config, "storage.redis", "");
  }
  if (values.redis !== undefined) setConfigValue(config, "storage.redis", values.redis);
  // A mistyped directory must not "succeed" into a store no node reads.
  if (!config.storage.redis && !existsSync(join(config.dataDir, "lmdb"))) {
    throw new ConfigError(`no node data in ${config.dataDir}: give the data directory of the node (--data), or --redis for a cluster`);
  }
  let store;
  try {
    store = await openRevocationStore(config, createLogger("silent", "token-revoke"));
  } catch (error) {
    if (error instanceof RedisConfigError) throw new ConfigError(error.message, { cause: error });
    throw error;
  }
  const at = Date.now();
  try {
    await store.revoke(values.user, values.device, at);
  } finally {
    await store.close();
  }
  const whose = values.device === undefined ? `${values.user} (every device)` : `${values.user} on device ${values.device}`;
  process.stdout.write(`revoked tokens of ${whose} issued until ${new Date(at).toISOString()}\n`);
  return 0;
}

async function token(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      user: { type: "string" },
      device: { type: "string" },
      ttl: { type: "string", default: String(DEFAULT_TOKEN_TTL_SECONDS) },
      secret: { type: "string" },
      "secret-file": { type: "string" },
      data: { type: "string" },
    },
    strict: true,
  });
  if (!values.user) throw new ConfigError("--user is required");
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 0) throw new ConfigError("--ttl is a whole number of seconds (0: never expires)");
  if (values.secret !== undefined && values["secret-file"] !== undefined) throw new ConfigError("give --secret or --secret-file, not both");
  // Flags before the environment, the environment before the data directory.
  const secret =
    values.secret ??
    (values["secret-file"] !== undefined ? readSecretFile(resolve(values["secret-file"])) : undefined) ??
    (process.env.ROUTER_SECRET || undefined) ??
    (process.env.ROUTER_SECRET_FILE ? readSecretFile(resolve(process.env.ROUTER_SECRET_FILE)) : undefined) ??
    readSecret(resolve(values.data ?? process.env.ROUTER_DATA ?? "data"));
  process.stdout.write(`${await signToken(secret, { user: values.user, device: values.device }, ttl)}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, subcommand, ...rest] = argv;
  try {
    if (command === "node" && subcommand === "start") return await nodeStart(rest);
    if (command === "node" && subcommand === "drain") return await nodeDrainCommand(rest);
    if (command === "cluster" && subcommand === "status") return await clusterStatusCommand(rest);
    if (command === "cluster" && subcommand === "ring") return await clusterRingCommand(rest);
    if (command === "cluster" && subcommand === "where") return await clusterWhereCommand(rest);
    if (command === "db" && subcommand === "migrate") return await dbMigrate(rest);
    if (command === "token" && subcommand === "revoke") return await tokenRevoke(rest);
    if (command === "token") return await token(argv.slice(1));
    if (command === undefined || command === "help" || command === "--help") {
      process.stdout.write(USAGE);
      return 0;
    }
    process.stderr.write(`unknown command: ${argv.join(" ")}\n\n${USAGE}`);
    return 2;
  } catch (error) {
    if (error instanceof ConfigError || (error instanceof Error && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS"))) {
      process.stderr.write(`router: ${error.message}\n`);
      return 2;
    }
    if (
      error instanceof NoSuchNodeError ||
      error instanceof NatsConnectError ||
      error instanceof StorageUnavailableError ||
      error instanceof DataDirInUseError ||
      error instanceof ListenError
    ) {
      process.stderr.write(`router: ${error.message}\n`);
      return 1;
    }
    if (error instanceof NoSecretError) {
      process.stderr.write(`router: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
