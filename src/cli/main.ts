import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { readSecretFile } from "../auth/secret-file.ts";
import { NoSecretError, signToken, readSecret } from "../auth/tokens.ts";
import {
  ConfigError,
  defaultConfig,
  ENVIRONMENT_TABLE,
  fileVariableOf,
  setConfigValue,
  validateConfig,
  configFromEnvironment,
  type ConfigKey,
  type NodeConfig,
} from "../config.ts";
import { readConfigFile } from "../config-file.ts";
import { NoRouterNodeError, NoSuchNodeError } from "../cluster/admin.ts";
import { NatsConnectError } from "../cluster/nats-connection.ts";
import { startNode } from "../node.ts";
import { DataDirInUseError, DataDirUnwritableError } from "../storage/data-dir-lock.ts";
import { migrateKeyspace } from "../storage/open-stores.ts";
import { openRevocationStore } from "../storage/open-revocations.ts";
import { RedisConfigError } from "../storage/redis/connection.ts";
import { DEVICE_ID_PATTERN, isUserId } from "../protocol/frames.ts";
import { ListenError } from "../transport/server.ts";
import { StorageUnavailableError } from "../storage/errors.ts";
import { createLogger } from "../util/logger.ts";
import { VERSION } from "../version.ts";
import { parseCommandLine, UsageError, type FlagSpec, type ParsedArgs } from "./args.ts";
import { clusterRingCommand, clusterStatusCommand, clusterWhereCommand, nodeDrainCommand, type ClusterTarget } from "./cluster-commands.ts";
import { renderTable } from "./table.ts";

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

/** A setting's environment variable, for help. */
const ENVIRONMENT_OF = new Map<ConfigKey, string>(Object.entries(ENVIRONMENT_TABLE).map(([variable, key]) => [key, variable]));

/** What each setting flag means, in help (the README's configuration table says more). */
const SETTING_HELP: Record<string, [value: string, help: string]> = {
  host: ["H", "address to listen on (default 127.0.0.1)"],
  port: ["P", "WebSocket and HTTP port (default 7070)"],
  data: ["DIR", "data directory: LMDB, media, the generated secret (default ./data)"],
  secret: ["S", "the token secret itself; shows in `ps`: development only"],
  "secret-file": ["PATH", "a file holding the token secret"],
  "log-level": ["L", "fatal, error, warn, info (default), debug, trace or silent"],
  "node-id": ["ID", "this node's name (default host name and pid)"],
  nats: ["URL", "NATS server(s), comma-separated: join that cluster"],
  "cluster-prefix": ["P", "NATS subject prefix of the cluster (default router)"],
  scylla: ["HOSTS", "ScyllaDB / Cassandra contact points host[:port],..."],
  redis: ["URL", "redis://host:port: presence and rate limits (with --scylla)"],
  keyspace: ["K", "CQL keyspace (default router)"],
  "local-dc": ["DC", "the data centre this node runs in (default datacenter1)"],
  replication: ["N", "replicas in DC when creating the keyspace (default 3, fewer on a smaller DC)"],
};

function settingFlags(flags: Record<string, ConfigKey>): FlagSpec[] {
  return Object.entries(flags).map(([name, key]) => {
    const [value, help] = SETTING_HELP[name]!;
    return { name, value, env: ENVIRONMENT_OF.get(key), help };
  });
}

const CONFIG_FLAG: FlagSpec = { name: "config", value: "PATH", env: "ROUTER_CONFIG", help: "a YAML settings file (router help config)" };
const CLUSTER_FLAGS: FlagSpec[] = [
  { name: "nats", value: "URL", env: "ROUTER_NATS", help: "the cluster's NATS (default nats://127.0.0.1:4222)" },
  { name: "prefix", value: "P", env: "ROUTER_CLUSTER_PREFIX", help: "the cluster's NATS subject prefix (default router)" },
  { name: "json", help: "JSON instead of a table" },
  CONFIG_FLAG,
];

interface Command {
  /** The words that name it: `node start`. */
  name: string;
  /** What follows the name in usage: positionals and the key flags. */
  synopsis: string;
  /** One line for the command list. */
  summary: string;
  /** Further paragraphs for `router help <command>`. */
  details: string;
  flags: FlagSpec[];
  /** How many plain arguments it takes. */
  positionals: number;
  run(args: ParsedArgs): Promise<number>;
}

const COMMANDS: Command[] = [
  {
    name: "node start",
    synopsis: "[--config PATH] [--host H] [--port P] [--data DIR] [--secret-file PATH] [--nats URL] [--scylla HOSTS --redis URL] ...",
    summary: "runs one node",
    details: `Without --scylla, messages live in LMDB under --data; with it, in ScyllaDB / Cassandra and
presence in Redis (migrate the keyspace first: router db migrate). A cluster (--nats) needs
--scylla and --redis. --secret shows in \`ps\`: use --secret-file outside development. The node
refuses to start on a port or a data directory another process holds. Every setting of the
README's configuration table comes from a flag, the environment or the config file; flags win
over the environment, the environment over the file (router help config).
--unsafe-local-store-cluster is for development only: a cluster on each node's own LMDB LOSES
acknowledged messages whenever a chat's owner changes (a node dies, drains or joins).`,
    flags: [
      CONFIG_FLAG,
      ...settingFlags(NODE_FLAGS),
      {
        name: "unsafe-local-store-cluster",
        env: "ROUTER_UNSAFE_LOCAL_STORE_CLUSTER",
        help: "development only: a cluster on each node's own LMDB (loses messages)",
      },
      { name: "check", help: "validate the settings, print where each came from, and exit without starting" },
    ],
    positionals: 0,
    run: nodeStart,
  },
  {
    name: "node drain",
    synopsis: "<node-id> [--nats URL] [--prefix P]",
    summary: "has a node leave the ring, hand its actors over, send its clients elsewhere and stop",
    details: "It talks to the cluster over NATS; the node need not be reachable otherwise.",
    flags: CLUSTER_FLAGS,
    positionals: 1,
    run: (args) => nodeDrainCommand(clusterTarget(args)),
  },
  {
    name: "db migrate",
    synopsis: "--scylla HOSTS [--keyspace K] [--local-dc DC] [--replication N]",
    summary: "creates the CQL keyspace and applies the migrations it lacks",
    details: "Creates the keyspace (N replicas in DC) if it is missing, then applies the CQL migrations it\nlacks. Safe to run again.",
    flags: [CONFIG_FLAG, ...settingFlags(DB_FLAGS)],
    positionals: 0,
    run: dbMigrate,
  },
  {
    name: "token",
    synopsis: "--user U [--device D] [--ttl SECONDS] [--secret-file PATH | --secret S | --data DIR]",
    summary: "prints a client token",
    details: `Prints a client token (HS256), good for 24 hours unless --ttl says otherwise (0: never
expires). The secret comes from --secret or --secret-file, else from the environment or the
config file (ROUTER_SECRET, ROUTER_SECRET_FILE), else from the one a node generated in its
data directory (--data, ROUTER_DATA; default ./data).`,
    flags: [
      { name: "user", value: "U", help: "the user the token is for (required)" },
      { name: "device", value: "D", help: "bind the token to this device" },
      { name: "ttl", value: "SECONDS", help: "lifetime (default 86400; 0: never expires)" },
      { name: "secret", value: "S", env: "ROUTER_SECRET", help: "the token secret" },
      { name: "secret-file", value: "PATH", env: "ROUTER_SECRET_FILE", help: "a file holding the token secret" },
      { name: "data", value: "DIR", env: "ROUTER_DATA", help: "a node's data directory, holding the secret it generated" },
      CONFIG_FLAG,
    ],
    positionals: 0,
    run: token,
  },
  {
    name: "token revoke",
    synopsis: "--user U [--device D] [--data DIR | --redis URL]",
    summary: "voids every token of a user (on one device) issued until now",
    details: `Live connections on those tokens close with 4001 within a second. A node alone keeps
revocations in its data directory (--data, ROUTER_DATA), a cluster in its Redis (--redis,
ROUTER_REDIS, key prefix ROUTER_REDIS_PREFIX). Nodes need not run.`,
    flags: [
      { name: "user", value: "U", help: "the user whose tokens to void (required)" },
      { name: "device", value: "D", help: "only tokens used on this device" },
      { name: "data", value: "DIR", env: "ROUTER_DATA", help: "the data directory of a node alone" },
      { name: "redis", value: "URL", env: "ROUTER_REDIS", help: "the Redis of a cluster" },
      CONFIG_FLAG,
    ],
    positionals: 0,
    run: tokenRevoke,
  },
  {
    name: "cluster status",
    synopsis: "[--nats URL] [--prefix P] [--json]",
    summary: "every node: address, version, up since, connections, actors",
    details: "Every node of the cluster answers over NATS; a node that does not answer within two seconds is not listed.",
    flags: CLUSTER_FLAGS,
    positionals: 0,
    run: (args) => clusterStatusCommand(clusterTarget(args)),
  },
  {
    name: "cluster ring",
    synopsis: "[--nats URL] [--prefix P] [--json]",
    summary: "each node's share of users and chats",
    details: "Shares are measured on a sample of keys, to about 0.3%.",
    flags: CLUSTER_FLAGS,
    positionals: 0,
    run: (args) => clusterRingCommand(clusterTarget(args)),
  },
  {
    name: "cluster where",
    synopsis: "<user|chat> [--nats URL] [--prefix P] [--json]",
    summary: "the node that owns a user's or a chat's actor",
    details: "A chat is a direct chat id (d:alice:bob) or a group id (g:...); anything else is a user.",
    flags: CLUSTER_FLAGS,
    positionals: 1,
    run: (args) => clusterWhereCommand(clusterTarget(args)),
  },
];

const USAGE_HEAD = "router: a WhatsApp-class message router\n";

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length), "help [command]".length);
  const lines = [
    ...COMMANDS.map((c) => `  router ${c.name.padEnd(width)}  ${c.summary}`),
    `  router ${"help [command]".padEnd(width)}  this, or a command's flags and their environment variables`,
    `  router ${"help config".padEnd(width)}  the settings file, and every setting's name in it`,
    `  router ${"version".padEnd(width)}  the router's version (also --version)`,
  ];
  return `${USAGE_HEAD}
Usage: router <command> [flags]

${lines.join("\n")}

Every command takes --help. Settings come from flags, then the environment, then a config
file (--config PATH or ROUTER_CONFIG), then defaults: the first that gives one wins.

node start --unsafe-local-store-cluster is for development only: a cluster on each node's own
LMDB LOSES acknowledged messages whenever a chat's owner changes.
`;
}

function commandHelp(command: Command): string {
  const flags = [...command.flags, { name: "help", help: "this help" } satisfies FlagSpec];
  const left = (flag: FlagSpec) => `${flag.name === "help" ? "-h, " : ""}--${flag.name}${flag.value ? ` ${flag.value}` : ""}`;
  const width = Math.max(...flags.map((flag) => left(flag).length));
  const rows = flags.map((flag) => `  ${left(flag).padEnd(width)}  ${flag.help}${flag.env ? ` [${flag.env}]` : ""}`);
  return `Usage: router ${command.name} ${command.synopsis}

${command.summary[0]!.toUpperCase()}${command.summary.slice(1)}.
${command.details}

Flags (in brackets, the environment variable that sets the same):
${rows.join("\n")}
`;
}

function configHelp(): string {
  const rows = Object.entries(ENVIRONMENT_TABLE).map(([variable, key]) => [variable, key]);
  return `A settings file: router node start --config router.yaml (or ROUTER_CONFIG=router.yaml).
Every command that reads settings takes it.

It is YAML. Its keys are the settings' config keys below, nested where they have dots:

  port: 7070
  logLevel: info
  secretFile: /run/secrets/router
  storage:
    scylla: scylla-1,scylla-2
    redis: redis://redis:6379
  calls:
    turn:
      secretFile: /run/secrets/turn   # <key>File reads the setting from a file

A key not listed is refused: a typo never leaves a setting at its default unnoticed.
Precedence: flags, then environment variables (ROUTER_X, or ROUTER_X_FILE naming a file),
then the config file, then defaults; the first that gives a setting wins. Where one place
gives the token secret one way (secret) and a later place the other (secretFile), the
first place's wins. router node start --check prints where each setting came from.

${renderTable(["environment", "config key"], rows)}`;
}

function findCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(" ");
    const command = COMMANDS.find((c) => c.name === name);
    if (command) return { command, rest: argv.slice(words) };
  }
  return undefined;
}

/** The commands under a first word (`node`: start, drain), for `router help node` and `router node`. */
function group(word: string): Command[] {
  return COMMANDS.filter((c) => c.name.split(" ")[0] === word);
}

function help(topic: string[]): number {
  if (topic.length === 0) {
    process.stdout.write(usage());
    return 0;
  }
  if (topic.join(" ") === "config") {
    process.stdout.write(configHelp());
    return 0;
  }
  const found = findCommand(topic);
  if (found && found.rest.length === 0) {
    process.stdout.write(commandHelp(found.command));
    return 0;
  }
  const commands = topic.length === 1 ? group(topic[0]!) : [];
  if (commands.length > 0) {
    process.stdout.write(commands.map(commandHelp).join("\n"));
    return 0;
  }
  throw new UsageError(`no help on ${topic.join(" ")}: no such command (see router help)`);
}

function versionLine(): string {
  return `router ${VERSION} (Node.js ${process.version})\n`;
}

// --- Settings: defaults, then the config file, then the environment, then flags. ---

interface Settings {
  config: NodeConfig;
  /** Where each setting that is not a default came from: the file's path, `ROUTER_X`, `--x`. */
  sources: Map<ConfigKey, string>;
}

/** A layer gave the token secret one way: the other way, from a layer below, no longer counts. */
function oneSecretKind(config: NodeConfig, given: Set<ConfigKey>, sources: Map<ConfigKey, string>): void {
  if (given.has("secret") && !given.has("secretFile")) {
    config.secretFile = "";
    sources.delete("secretFile");
  }
  if (given.has("secretFile") && !given.has("secret")) {
    config.secret = "";
    sources.delete("secret");
  }
}

/** Settings from the config file (if any) and the environment, before a command's flags. */
function settingsOf(args: ParsedArgs, env: NodeJS.ProcessEnv): Settings {
  const config = defaultConfig();
  const sources = new Map<ConfigKey, string>();
  const flag = args.flags.get("config");
  const path = typeof flag === "string" ? flag : env.ROUTER_CONFIG || undefined;
  if (path !== undefined) {
    for (const { key, value } of readConfigFile(path)) {
      setConfigValue(config, key, value);
      sources.set(key, path);
    }
  }
  configFromEnvironment(env, config);
  const given = new Set<ConfigKey>();
  for (const [variable, key] of Object.entries(ENVIRONMENT_TABLE)) {
    const fromFile = fileVariableOf(variable, env);
    if (fromFile !== undefined) sources.set(key, `${variable}_FILE`);
    else if (env[variable]) sources.set(key, variable);
    else continue;
    given.add(key);
  }
  oneSecretKind(config, given, sources);
  return { config, sources };
}

/** Applies a command's setting flags over the settings. */
function applyFlags(settings: Settings, args: ParsedArgs, flags: Record<string, ConfigKey>): void {
  const given = new Set<ConfigKey>();
  for (const [flag, key] of Object.entries(flags)) {
    const value = args.flags.get(flag);
    if (typeof value !== "string") continue;
    setConfigValue(settings.config, key, value);
    settings.sources.set(key, `--${flag}`);
    given.add(key);
  }
  oneSecretKind(settings.config, given, settings.sources);
}

/** Values that must not be printed: the secrets among the settings. */
function isSecretSetting(key: ConfigKey): boolean {
  return /(secret|token|accessKey)$/i.test(key) && !key.endsWith("File");
}

function printSettings({ config, sources }: Settings): void {
  const rows = Object.values(ENVIRONMENT_TABLE)
    .filter((key) => sources.has(key))
    .map((key) => {
      const value = key.split(".").reduce<unknown>((at, part) => (at as Record<string, unknown>)[part], config);
      return [key, isSecretSetting(key) ? "(hidden)" : String(value), sources.get(key)!];
    });
  process.stdout.write(`settings are valid${rows.length === 0 ? "; every setting has its default" : ""}\n`);
  if (rows.length > 0) process.stdout.write(`${renderTable(["setting", "value", "from"], rows)}every other setting has its default\n`);
}

// --- The commands. ---

async function dbMigrate(args: ParsedArgs): Promise<number> {
  const settings = settingsOf(args, process.env);
  applyFlags(settings, args, DB_FLAGS);
  const { config } = settings;
  const applied = await migrateKeyspace(config, createLogger(config.logLevel, "db-migrate"));
  const done = applied.length > 0 ? `applied migrations ${applied.join(", ")}` : "already up to date";
  process.stdout.write(`keyspace ${config.storage.keyspace}: ${done}\n`);
  return 0;
}

async function nodeStart(args: ParsedArgs): Promise<number> {
  const settings = settingsOf(args, process.env);
  applyFlags(settings, args, NODE_FLAGS);
  if (args.flags.get("unsafe-local-store-cluster") === true) {
    settings.config.cluster.unsafeLocalStore = true;
    settings.sources.set("cluster.unsafeLocalStore", "--unsafe-local-store-cluster");
  }
  const config = validateConfig(settings.config);
  if (args.flags.get("check") === true) {
    printSettings(settings);
    return 0;
  }
  const node = await startNode(config);
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

function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.flags.get(name);
  return typeof value === "string" ? value : undefined;
}

async function tokenRevoke(args: ParsedArgs): Promise<number> {
  const user = stringFlag(args, "user");
  const device = stringFlag(args, "device");
  const data = stringFlag(args, "data");
  const redis = stringFlag(args, "redis");
  if (!user) throw new ConfigError("--user is required");
  if (!isUserId(user)) throw new ConfigError("--user must be a user id (1-64 of A-Za-z0-9_.@+-)");
  if (device !== undefined && !DEVICE_ID_PATTERN.test(device)) {
    throw new ConfigError("--device must be a device id (1-64 of A-Za-z0-9_.@+-)");
  }
  if (data !== undefined && redis !== undefined) throw new ConfigError("--data (a node alone) and --redis (a cluster) exclude each other");
  const { config } = settingsOf(args, process.env);
  if (data !== undefined) {
    setConfigValue(config, "dataDir", data);
    setConfigValue(config, "storage.redis", "");
  }
  if (redis !== undefined) setConfigValue(config, "storage.redis", redis);
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
    await store.revoke(user, device, at);
  } finally {
    await store.close();
  }
  const whose = device === undefined ? `${user} (every device)` : `${user} on device ${device}`;
  process.stdout.write(`revoked tokens of ${whose} issued until ${new Date(at).toISOString()}\n`);
  return 0;
}

async function token(args: ParsedArgs): Promise<number> {
  const user = stringFlag(args, "user");
  if (!user) throw new ConfigError("--user is required");
  const ttl = Number(stringFlag(args, "ttl") ?? DEFAULT_TOKEN_TTL_SECONDS);
  if (!Number.isInteger(ttl) || ttl < 0) throw new ConfigError("--ttl is a whole number of seconds (0: never expires)");
  const secretFlag = stringFlag(args, "secret");
  const secretFileFlag = stringFlag(args, "secret-file");
  if (secretFlag !== undefined && secretFileFlag !== undefined) throw new ConfigError("give --secret or --secret-file, not both");
  const settings = settingsOf(args, process.env);
  applyFlags(settings, args, { secret: "secret", "secret-file": "secretFile", data: "dataDir" });
  const { config } = settings;
  // Flags before the environment and the config file, the secret before the data directory.
  const secret = config.secret || (config.secretFile ? readSecretFile(config.secretFile) : readSecret(resolve(config.dataDir)));
  process.stdout.write(`${await signToken(secret, { user, device: stringFlag(args, "device") }, ttl)}\n`);
  return 0;
}

function clusterTarget(args: ParsedArgs): ClusterTarget {
  const { config } = settingsOf(args, process.env);
  const nats = stringFlag(args, "nats") ?? (config.cluster.nats || "nats://127.0.0.1:4222");
  const prefix = stringFlag(args, "prefix") ?? config.cluster.subjectPrefix;
  return { nats, prefix, json: args.flags.get("json") === true, positionals: args.positionals };
}

// --- Dispatch and errors. ---

/** Errors that are the operator's to fix, each said in one line: exit 2 for usage and settings, 1 for the rest. */
function explain(error: unknown): { line: string; code: number } | undefined {
  if (error instanceof UsageError || error instanceof ConfigError) return { line: error.message, code: 2 };
  if (
    error instanceof NoSuchNodeError ||
    error instanceof NoRouterNodeError ||
    error instanceof NatsConnectError ||
    error instanceof StorageUnavailableError ||
    error instanceof DataDirInUseError ||
    error instanceof DataDirUnwritableError ||
    error instanceof ListenError
  ) {
    return { line: error.message, code: 1 };
  }
  if (error instanceof NoSecretError) return { line: error.message, code: 2 };
  return undefined;
}

async function dispatch(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h") return help([]);
  if (first === "help") return help(rest);
  if (first === "--version" || first === "-V" || first === "version") {
    if (rest.length > 0) throw new UsageError(`${first} takes no arguments`);
    process.stdout.write(versionLine());
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    const commands = group(first);
    if (commands.length > 0) {
      const subcommands = commands.map((c) => c.name.split(" ")[1]).join(", ");
      const what = argv[1] === undefined ? "needs a subcommand" : `has no subcommand ${argv[1]}`;
      throw new UsageError(`${first} ${what}: ${subcommands} (see router help ${first})`);
    }
    throw new UsageError(`unknown command ${first} (see router help)`);
  }
  const args = parseCommandLine(found.command.name, found.command.flags, found.command.positionals, found.rest);
  if (args.help) {
    process.stdout.write(commandHelp(found.command));
    return 0;
  }
  return await found.command.run(args);
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (error) {
    const explained = explain(error);
    if (!explained) throw error;
    process.stderr.write(`router: ${explained.line}\n`);
    return explained.code;
  }
}
