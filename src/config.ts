import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { ConfigError } from "./config/error.ts";
import { defaultPushConfig, type PushConfig } from "./config/push.ts";
import { defaultSignupConfig, validateSignupConfig, type SignupConfig } from "./config/signup.ts";

/** Everything a node can be told. All defaults live in `defaultConfig()`. */
export interface NodeConfig {
  nodeId: string;
  host: string;
  port: number;
  dataDir: string;
  /** HS256 secret for client tokens; when empty, secretFile's, or one generated into dataDir. */
  secret: string;
  /** A file holding the secret (kept out of `ps`, unlike `--secret`). */
  secretFile: string;
  logLevel: string;
  tracing: {
    /**
     * An OTLP/HTTP collector (`http://collector:4318`, or its full `/v1/traces` URL): spans
     * are exported there. Empty (the default): tracing is off and costs nothing.
     */
    otelEndpoint: string;
  };
  limits: {
    /** Largest inbound WebSocket message in bytes; larger ones close the connection with 1009. */
    maxFrameBytes: number;
    /** Sustained inbound frames per second per connection. */
    framesPerSecond: number;
    /** Frames a connection may send back to back before the per-second rate applies. */
    frameBurst: number;
    /**
     * Sustained inbound frames per second per user, across all their connections on every
     * node: the user's actor divides it among the user's live connections.
     */
    userFramesPerSecond: number;
    /** Frames a user may send back to back, across all their connections. */
    userFrameBurst: number;
    /** Live devices per user; a further device's `hello` is refused with `too_many_devices`. */
    maxDevicesPerUser: number;
    /** Bytes buffered towards a slow client before ephemeral frames are dropped. */
    softBackpressureBytes: number;
    /** Bytes buffered towards a client before it is disconnected as a slow consumer. */
    maxBackpressureBytes: number;
    /** Seconds without traffic before the connection is pinged, then closed. */
    idleTimeoutSeconds: number;
    helloTimeoutMs: number;
    /**
     * A request an actor has not answered in this long is answered `timeout` (its actor may
     * be on a node that died); below the clients' own timeout, so they hear why. 0: off.
     */
    requestTimeoutMs: number;
  };
  actors: {
    /** An actor with nothing to do for this long is passivated (its state stays in the store). */
    idleMs: number;
    /** OTP-style restart intensity: more than `maxRestarts` crashes within `withinMs` escalates. */
    maxRestarts: number;
    withinMs: number;
  };
  /** At most this many messages per chat are replayed on connect; beyond it `synced.recovered` is false. */
  syncLimitPerChat: number;
  groups: {
    maxMembers: number;
    /** Up to this many members a message is written to each member's inbox; above, members pull. */
    fanoutThreshold: number;
    /** Groups one user may be in; creating, being added to or joining one more is `too_many_groups`. */
    maxPerUser: number;
    /** How long an invitation (an add the invitee's settings refused) waits for `group.join`. */
    inviteTtlMs: number;
    /** Pending invitations kept per user; a new one beyond it drops the oldest. */
    maxPendingInvites: number;
  };
  contacts: {
    /** Phone numbers one user may look up with `contacts.sync` per day, cluster-wide (counted by number). */
    syncPerDay: number;
    /** Users one contact list may hold; `contacts.add` beyond it is `limit_exceeded`. */
    maxContacts: number;
    /** Users one block list may hold; `block` beyond it is `limit_exceeded`. */
    maxBlocks: number;
  };
  keys: {
    /** Key bundle fetches (`keys.get`) one user may make per window, cluster-wide. */
    claimsPerWindow: number;
    claimWindowMs: number;
    /**
     * Fetches of one user's bundles per window, across all requesters, that may take a
     * one-time prekey; further fetches in the window get bundles without one.
     */
    claimsPerTargetWindow: number;
  };
  messages: {
    /** How long after sending its sender may edit a message. */
    editWindowMs: number;
    /** How long after sending its sender may delete a message for everyone. */
    deleteWindowMs: number;
  };
  cluster: {
    /** NATS server URL(s), comma-separated; empty runs the node alone. */
    nats: string;
    /** Subject prefix shared by the nodes of one cluster. */
    subjectPrefix: string;
    heartbeatMs: number;
    /** Heartbeats a node may miss before the others consider it down. */
    missedBeats: number;
    /**
     * Development only (the bench prices the NATS hop with it): lets a cluster run on each
     * node's own LMDB. It loses acknowledged messages whenever a chat's owner changes, since
     * the new owner numbers the chat again from its own store.
     */
    unsafeLocalStore: boolean;
  };
  typing: {
    /** At most one typing indicator per user and chat in this window. */
    throttleMs: number;
    /** A typing indicator not switched off is switched off by the server after this long. */
    expiryMs: number;
  };
  /** Push notifications for devices that did not ack in time (src/config/push.ts). */
  push: PushConfig;
  /** Sign-up by phone number and refresh tokens (src/config/signup.ts); off unless an SMS sender is set. */
  signup: SignupConfig;
  /** Call signalling (docs/protocol.md, "Calls"); the router carries no media. */
  calls: {
    /** An unanswered call ends as missed after this long; a held offer waits as long for a device. */
    ringTimeoutMs: number;
    /** Participants of a group call (a mesh: every pair negotiates), the caller included. */
    maxParticipants: number;
    turn: {
      /** coturn's `static-auth-secret`; empty: `call.turn` is answered `unavailable`. */
      secret: string;
      /** `turn:` / `turns:` / `stun:` URLs handed to clients, comma-separated. */
      urls: string;
      /** Lifetime of issued credentials in seconds. */
      ttlSeconds: number;
    };
  };
  /** Status updates (docs/protocol.md, "Status"). */
  status: {
    /** A status expires this long after it is posted. */
    ttlMs: number;
    /** Statuses one user may post per day (a fixed 24 h window, shared by the cluster's nodes). */
    postsPerDay: number;
    /** Live (unexpired) statuses one poster may hold at once. */
    maxActive: number;
    /** How often the sweep removes expired statuses and unlinks their media. */
    sweepIntervalMs: number;
  };
  /** Where chats live: embedded LMDB under dataDir, or the cluster backend (CQL + Redis). */
  storage: {
    /** `lmdb`, `cql`, or empty: `cql` when `scylla` is set, `lmdb` otherwise. */
    backend: string;
    /** ScyllaDB / Cassandra contact points, `host[:port]`, comma-separated. */
    scylla: string;
    /** `redis://host:port` (or `rediss://`): presence, last seen, rate limits. */
    redis: string;
    keyspace: string;
    /** The data centre this node runs in; requests go to its replicas. */
    localDc: string;
    /** Replicas in localDc when `router db migrate` creates the keyspace; 0: 3, or fewer if the data centre is smaller. */
    replication: number;
    /** Apply missing CQL migrations at start instead of refusing to start (one node or development). */
    migrateOnStart: boolean;
    cqlRequestTimeoutMs: number;
    /** Every Redis key starts with it: one per cluster sharing a Redis. */
    redisPrefix: string;
    redisCommandTimeoutMs: number;
    /**
     * Device cursors and receipt marks wait up to this long to be written, coalesced (0: each
     * written at once). A crash replays at most this window of acks (src/storage/coalesced-watermarks.ts).
     */
    watermarkFlushMs: number;
  };
  /** The browser demo at `/demo` (docs/demo.md): development only, since it hands out tokens for any name. */
  demo: {
    enabled: boolean;
    /** Sign-ins (tokens minted) per source address per minute. */
    signInsPerMinute: number;
  };
  media: {
    /** `file`: under `<dataDir>/media`; `s3`: an S3-compatible bucket shared by the cluster. */
    backend: string;
    /** Largest upload in bytes; larger ones are refused with 413. */
    maxUploadBytes: number;
    /** Lifetime of presigned upload and download URLs (s3 only). */
    presignTtlSeconds: number;
    s3: {
      /** Empty for AWS itself; an S3-compatible server's URL otherwise (path-style addressing). */
      endpoint: string;
      region: string;
      bucket: string;
      /** Empty: the AWS SDK's default credential chain. */
      accessKeyId: string;
      secretAccessKey: string;
    };
  };
}

export function defaultConfig(): NodeConfig {
  return {
    nodeId: `${hostname()}-${process.pid}`,
    host: "127.0.0.1",
    port: 7070,
    dataDir: resolve("data"),
    secret: "",
    secretFile: "",
    logLevel: "info",
    tracing: { otelEndpoint: "" },
    limits: {
      maxFrameBytes: 64 * 1024,
      framesPerSecond: 1000,
      frameBurst: 2000,
      userFramesPerSecond: 1000,
      userFrameBurst: 2000,
      maxDevicesPerUser: 8,
      softBackpressureBytes: 256 * 1024,
      maxBackpressureBytes: 4 * 1024 * 1024,
      idleTimeoutSeconds: 60,
      helloTimeoutMs: 10_000,
      requestTimeoutMs: 8_000,
    },
    actors: { idleMs: 120_000, maxRestarts: 5, withinMs: 10_000 },
    syncLimitPerChat: 1000,
    groups: { maxMembers: 500, fanoutThreshold: 50, maxPerUser: 2000, inviteTtlMs: 7 * 24 * 3600_000, maxPendingInvites: 100 },
    // Enough to open sessions with every device of a 500-member group at once, far below
    // what draining people's prekeys at scale would need.
    // Per target: 50 is half the 100 one-time prekeys a client uploads at a time, so strangers
    // together cannot empty a freshly stocked device within one window (the owner, told at 10
    // left, refills in between). Legitimate bursts above it (a 500-member group all opening
    // sessions with one user) still succeed, on the signed prekey alone.
    // A new user's address book in a day or two (a few thousand numbers), far below a
    // directory scrape; the contact and block lists are bounded like everything a user writes.
    contacts: { syncPerDay: 10_000, maxContacts: 10_000, maxBlocks: 10_000 },
    keys: { claimsPerWindow: 1000, claimWindowMs: 10 * 60_000, claimsPerTargetWindow: 50 },
    messages: { editWindowMs: 15 * 60_000, deleteWindowMs: 48 * 3600_000 },
    typing: { throttleMs: 2000, expiryMs: 6000 },
    push: defaultPushConfig(),
    signup: defaultSignupConfig(),
    calls: { ringTimeoutMs: 45_000, maxParticipants: 8, turn: { secret: "", urls: "", ttlSeconds: 3600 } },
    status: { ttlMs: 24 * 3600_000, postsPerDay: 100, maxActive: 100, sweepIntervalMs: 60_000 },
    demo: { enabled: false, signInsPerMinute: 10 },
    media: {
      backend: "file",
      maxUploadBytes: 100 * 1024 * 1024,
      presignTtlSeconds: 900,
      s3: { endpoint: "", region: "us-east-1", bucket: "", accessKeyId: "", secretAccessKey: "" },
    },
    cluster: { nats: "", subjectPrefix: "router", heartbeatMs: 1000, missedBeats: 3, unsafeLocalStore: false },
    storage: {
      backend: "",
      scylla: "",
      redis: "",
      keyspace: "router",
      localDc: "datacenter1",
      replication: 0,
      migrateOnStart: false,
      cqlRequestTimeoutMs: 10_000,
      redisPrefix: "router:",
      redisCommandTimeoutMs: 1_000,
      watermarkFlushMs: 50,
    },
  };
}

/** Environment variable → config key. Command-line flags win over these, these over the config file (src/config-file.ts). */
export const ENVIRONMENT_TABLE = {
  ROUTER_NODE_ID: "nodeId",
  ROUTER_HOST: "host",
  ROUTER_PORT: "port",
  ROUTER_DATA: "dataDir",
  ROUTER_SECRET: "secret",
  ROUTER_SECRET_FILE: "secretFile",
  ROUTER_LOG_LEVEL: "logLevel",
  ROUTER_OTEL_ENDPOINT: "tracing.otelEndpoint",
  ROUTER_MAX_FRAME_BYTES: "limits.maxFrameBytes",
  ROUTER_FRAMES_PER_SECOND: "limits.framesPerSecond",
  ROUTER_FRAME_BURST: "limits.frameBurst",
  ROUTER_USER_FRAMES_PER_SECOND: "limits.userFramesPerSecond",
  ROUTER_USER_FRAME_BURST: "limits.userFrameBurst",
  ROUTER_MAX_DEVICES_PER_USER: "limits.maxDevicesPerUser",
  ROUTER_IDLE_TIMEOUT_SECONDS: "limits.idleTimeoutSeconds",
  ROUTER_REQUEST_TIMEOUT_MS: "limits.requestTimeoutMs",
  ROUTER_ACTOR_IDLE_MS: "actors.idleMs",
  ROUTER_SYNC_LIMIT_PER_CHAT: "syncLimitPerChat",
  ROUTER_BACKEND: "storage.backend",
  ROUTER_SCYLLA: "storage.scylla",
  ROUTER_REDIS: "storage.redis",
  ROUTER_KEYSPACE: "storage.keyspace",
  ROUTER_LOCAL_DC: "storage.localDc",
  ROUTER_CQL_REPLICATION: "storage.replication",
  ROUTER_CQL_MIGRATE_ON_START: "storage.migrateOnStart",
  ROUTER_CQL_REQUEST_TIMEOUT_MS: "storage.cqlRequestTimeoutMs",
  ROUTER_REDIS_PREFIX: "storage.redisPrefix",
  ROUTER_REDIS_TIMEOUT_MS: "storage.redisCommandTimeoutMs",
  ROUTER_WATERMARK_FLUSH_MS: "storage.watermarkFlushMs",
  ROUTER_NATS: "cluster.nats",
  ROUTER_CLUSTER_PREFIX: "cluster.subjectPrefix",
  ROUTER_CLUSTER_HEARTBEAT_MS: "cluster.heartbeatMs",
  ROUTER_CLUSTER_MISSED_BEATS: "cluster.missedBeats",
  ROUTER_UNSAFE_LOCAL_STORE_CLUSTER: "cluster.unsafeLocalStore",
  ROUTER_GROUP_MAX_MEMBERS: "groups.maxMembers",
  ROUTER_GROUP_FANOUT_THRESHOLD: "groups.fanoutThreshold",
  ROUTER_MAX_GROUPS_PER_USER: "groups.maxPerUser",
  ROUTER_GROUP_INVITE_TTL_MS: "groups.inviteTtlMs",
  ROUTER_MAX_PENDING_INVITES: "groups.maxPendingInvites",
  ROUTER_EDIT_WINDOW_MS: "messages.editWindowMs",
  ROUTER_DELETE_WINDOW_MS: "messages.deleteWindowMs",
  ROUTER_CONTACTS_SYNC_PER_DAY: "contacts.syncPerDay",
  ROUTER_MAX_CONTACTS: "contacts.maxContacts",
  ROUTER_MAX_BLOCKS: "contacts.maxBlocks",
  ROUTER_KEYS_CLAIMS_PER_WINDOW: "keys.claimsPerWindow",
  ROUTER_KEYS_CLAIM_WINDOW_MS: "keys.claimWindowMs",
  ROUTER_KEYS_CLAIMS_PER_TARGET_WINDOW: "keys.claimsPerTargetWindow",
  ROUTER_PUSH_DELAY_MS: "push.delayMs",
  ROUTER_PUSH_COALESCE_MS: "push.coalesceMs",
  ROUTER_PUSH_PREVIEW_CHARS: "push.previewChars",
  ROUTER_PUSH_APNS_URL: "push.apns.url",
  ROUTER_PUSH_APNS_KEY_FILE: "push.apns.keyFile",
  ROUTER_PUSH_APNS_KEY_ID: "push.apns.keyId",
  ROUTER_PUSH_APNS_TEAM_ID: "push.apns.teamId",
  ROUTER_PUSH_APNS_TOPIC: "push.apns.topic",
  ROUTER_PUSH_FCM_URL: "push.fcm.url",
  ROUTER_PUSH_FCM_PROJECT_ID: "push.fcm.projectId",
  ROUTER_PUSH_FCM_ACCESS_TOKEN: "push.fcm.accessToken",
  ROUTER_PUSH_FCM_SERVICE_ACCOUNT_FILE: "push.fcm.serviceAccountFile",
  ROUTER_PUSH_FCM_TOKEN_URL: "push.fcm.tokenUrl",
  ROUTER_PUSH_WEBHOOK_URL: "push.webhook.url",
  ROUTER_PUSH_WEBHOOK_SECRET: "push.webhook.secret",
  ROUTER_SMS_SENDER: "signup.sender",
  ROUTER_SMS_WEBHOOK_URL: "signup.webhook.url",
  ROUTER_SMS_WEBHOOK_SECRET: "signup.webhook.secret",
  ROUTER_SMS_TWILIO_URL: "signup.twilio.url",
  ROUTER_SMS_TWILIO_ACCOUNT_SID: "signup.twilio.accountSid",
  ROUTER_SMS_TWILIO_AUTH_TOKEN: "signup.twilio.authToken",
  ROUTER_SMS_TWILIO_FROM: "signup.twilio.from",
  ROUTER_SMS_TWILIO_MESSAGING_SERVICE_SID: "signup.twilio.messagingServiceSid",
  ROUTER_SIGNUP_CODE_TTL_MS: "signup.codeTtlMs",
  ROUTER_SIGNUP_CODE_ATTEMPTS: "signup.codeAttempts",
  ROUTER_SIGNUP_STARTS_PER_PHONE: "signup.startsPerPhone",
  ROUTER_SIGNUP_START_WINDOW_MS: "signup.startWindowMs",
  ROUTER_SIGNUP_REQUESTS_PER_ADDRESS: "signup.requestsPerAddress",
  ROUTER_SIGNUP_ADDRESS_WINDOW_MS: "signup.addressWindowMs",
  ROUTER_ACCESS_TOKEN_TTL_SECONDS: "signup.accessTokenTtlSeconds",
  ROUTER_REFRESH_TOKEN_TTL_SECONDS: "signup.refreshTokenTtlSeconds",
  ROUTER_CALL_RING_TIMEOUT_MS: "calls.ringTimeoutMs",
  ROUTER_CALL_MAX_PARTICIPANTS: "calls.maxParticipants",
  ROUTER_TURN_SECRET: "calls.turn.secret",
  ROUTER_TURN_URLS: "calls.turn.urls",
  ROUTER_TURN_TTL_SECONDS: "calls.turn.ttlSeconds",
  ROUTER_STATUS_TTL_MS: "status.ttlMs",
  ROUTER_STATUS_POSTS_PER_DAY: "status.postsPerDay",
  ROUTER_STATUS_MAX_ACTIVE: "status.maxActive",
  ROUTER_STATUS_SWEEP_INTERVAL_MS: "status.sweepIntervalMs",
  ROUTER_DEMO: "demo.enabled",
  ROUTER_DEMO_SIGN_INS_PER_MINUTE: "demo.signInsPerMinute",
  ROUTER_MEDIA_BACKEND: "media.backend",
  ROUTER_MEDIA_MAX_UPLOAD_BYTES: "media.maxUploadBytes",
  ROUTER_MEDIA_PRESIGN_TTL_SECONDS: "media.presignTtlSeconds",
  ROUTER_MEDIA_S3_ENDPOINT: "media.s3.endpoint",
  ROUTER_MEDIA_S3_REGION: "media.s3.region",
  ROUTER_MEDIA_S3_BUCKET: "media.s3.bucket",
  ROUTER_MEDIA_S3_ACCESS_KEY_ID: "media.s3.accessKeyId",
  ROUTER_MEDIA_S3_SECRET_ACCESS_KEY: "media.s3.secretAccessKey",
} as const;

export type ConfigKey = (typeof ENVIRONMENT_TABLE)[keyof typeof ENVIRONMENT_TABLE];

// Defined apart so that the sections in config/ can throw it; callers take it from here.
export { ConfigError };

/** Sets one dotted key from a string, converting to the type the default has. */
export function setConfigValue(config: NodeConfig, key: ConfigKey, raw: string): void {
  const path = key.split(".");
  let target = config as unknown as Record<string, unknown>;
  for (const part of path.slice(0, -1)) target = target[part] as Record<string, unknown>;
  const leaf = path.at(-1)!;
  const current = target[leaf];
  if (typeof current === "number") {
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new ConfigError(`${key} must be a non-negative number, got ${JSON.stringify(raw)}`);
    target[leaf] = value;
  } else if (typeof current === "boolean") {
    if (!["true", "false", "1", "0"].includes(raw)) throw new ConfigError(`${key} must be true or false, got ${JSON.stringify(raw)}`);
    target[leaf] = raw === "true" || raw === "1";
  } else {
    target[leaf] = key === "dataDir" || key === "secretFile" ? resolve(raw) : raw;
  }
}

export function configFromEnvironment(env: NodeJS.ProcessEnv, config = defaultConfig()): NodeConfig {
  for (const [variable, key] of Object.entries(ENVIRONMENT_TABLE)) {
    const raw = env[variable];
    const fromFile = fileVariableOf(variable, env);
    if (raw !== undefined && raw !== "" && fromFile !== undefined) {
      throw new ConfigError(`give ${variable} or ${variable}_FILE, not both`);
    }
    if (fromFile !== undefined) setConfigValue(config, key, readSettingFile(`${variable}_FILE`, fromFile));
    else if (raw !== undefined && raw !== "") setConfigValue(config, key, raw);
  }
  return config;
}

/**
 * `ROUTER_X_FILE=/path` gives `ROUTER_X` the file's content (Docker and Kubernetes mount
 * secrets as files; the environment shows in `ps e` and `docker inspect`). Variables that are
 * themselves in the table (ROUTER_SECRET_FILE) keep their own meaning.
 */
export function fileVariableOf(variable: string, env: NodeJS.ProcessEnv): string | undefined {
  const name = `${variable}_FILE`;
  if (name in ENVIRONMENT_TABLE) return undefined;
  const path = env[name];
  return path === undefined || path === "" ? undefined : path;
}

function readSettingFile(variable: string, path: string): string {
  try {
    // One trailing newline is how editors and `echo` end a file, never part of the value.
    return readFileSync(path, "utf8").replace(/\r?\n$/, "");
  } catch (error) {
    throw new ConfigError(`${variable}=${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

export function validateConfig(config: NodeConfig): NodeConfig {
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) throw new ConfigError("port must be 0-65535");
  if (config.limits.maxFrameBytes < 1024) throw new ConfigError("limits.maxFrameBytes must be at least 1024");
  if (config.limits.frameBurst < 1 || config.limits.framesPerSecond <= 0) throw new ConfigError("frame rate limits must be positive");
  if (config.limits.userFrameBurst < 1 || config.limits.userFramesPerSecond <= 0) throw new ConfigError("per-user frame rate limits must be positive");
  if (!Number.isInteger(config.limits.maxDevicesPerUser) || config.limits.maxDevicesPerUser < 1) {
    throw new ConfigError("limits.maxDevicesPerUser must be a whole number, at least 1");
  }
  if (config.limits.idleTimeoutSeconds !== 0 && config.limits.idleTimeoutSeconds < 8) {
    throw new ConfigError("limits.idleTimeoutSeconds must be 0 (off) or at least 8");
  }
  if (!(config.keys.claimsPerWindow >= 1 && config.keys.claimWindowMs >= 1000)) {
    throw new ConfigError("keys.claimsPerWindow must be at least 1 and keys.claimWindowMs at least 1000");
  }
  if (!(config.contacts.syncPerDay >= 1 && config.contacts.maxContacts >= 1 && config.contacts.maxBlocks >= 1)) {
    throw new ConfigError("contacts.syncPerDay, contacts.maxContacts and contacts.maxBlocks must be at least 1");
  }
  if (!Number.isInteger(config.keys.claimsPerTargetWindow)) throw new ConfigError("keys.claimsPerTargetWindow must be a whole number");
  if (!(config.groups.maxPerUser >= 1 && config.groups.maxPendingInvites >= 1 && config.groups.inviteTtlMs >= 1000)) {
    throw new ConfigError("groups.maxPerUser and groups.maxPendingInvites must be at least 1, groups.inviteTtlMs at least 1000");
  }
  if (!["file", "s3"].includes(config.media.backend)) throw new ConfigError(`media.backend must be file or s3, got ${config.media.backend}`);
  if (config.media.backend === "s3" && !config.media.s3.bucket) throw new ConfigError("media.backend s3 needs media.s3.bucket");
  validateStorage(config.storage);
  validateSignupConfig(config.signup);
  validateCluster(config);
  if (config.secret && config.secretFile) throw new ConfigError("give --secret or --secret-file, not both");
  if (config.calls.ringTimeoutMs < 1000) throw new ConfigError("calls.ringTimeoutMs must be at least 1000");
  if (!(config.calls.maxParticipants >= 2 && Number.isInteger(config.calls.maxParticipants))) throw new ConfigError("calls.maxParticipants must be a whole number of at least 2");
  if (config.status.ttlMs < 1000) throw new ConfigError("status.ttlMs must be at least 1000");
  if (!(config.status.postsPerDay >= 1 && config.status.maxActive >= 1)) throw new ConfigError("status.postsPerDay and status.maxActive must be at least 1");
  if (config.status.sweepIntervalMs < 100) throw new ConfigError("status.sweepIntervalMs must be at least 100");
  if (!(config.demo.signInsPerMinute >= 1)) throw new ConfigError("demo.signInsPerMinute must be at least 1");
  if (config.calls.turn.ttlSeconds < 60) throw new ConfigError("calls.turn.ttlSeconds must be at least 60");
  if (config.calls.turn.secret && !config.calls.turn.urls.trim()) throw new ConfigError("ROUTER_TURN_SECRET needs ROUTER_TURN_URLS: the TURN server's turn: / stun: URLs");
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(config.logLevel)) {
    throw new ConfigError(`unknown log level ${config.logLevel}`);
  }
  if (config.tracing.otelEndpoint && !/^https?:\/\/[^/\s]+/.test(config.tracing.otelEndpoint)) {
    throw new ConfigError(`ROUTER_OTEL_ENDPOINT must be an http(s) URL of an OTLP/HTTP collector, got ${config.tracing.otelEndpoint}`);
  }
  return config;
}

/** The storage backend a config selects, or a ConfigError saying what is missing or contradictory. */
export function storageBackend(storage: NodeConfig["storage"]): "lmdb" | "cql" {
  const backend = storage.backend || (storage.scylla ? "cql" : "lmdb");
  if (backend !== "lmdb" && backend !== "cql") {
    throw new ConfigError(`unknown storage backend ${JSON.stringify(storage.backend)}: lmdb (embedded) or cql (ScyllaDB / Cassandra with Redis)`);
  }
  if (backend === "lmdb" && storage.scylla) throw new ConfigError("storage backend lmdb contradicts --scylla; drop one of them");
  if (backend === "lmdb" && storage.redis) {
    throw new ConfigError("--redis needs the cluster backend: give --scylla too (Redis holds no messages)");
  }
  if (backend === "cql" && !storage.scylla) throw new ConfigError("storage backend cql needs --scylla HOSTS (ROUTER_SCYLLA)");
  if (backend === "cql" && !storage.redis) {
    throw new ConfigError("the cluster backend needs --redis URL (ROUTER_REDIS) besides --scylla: presence and shared rate limits live there");
  }
  return backend;
}

/**
 * A cluster needs the shared store. On each node's own LMDB, a chat whose owner dies or drains
 * is numbered again by its new owner from an empty store: acknowledged messages are lost.
 */
function validateCluster(config: NodeConfig): void {
  if (!config.cluster.nats || config.cluster.unsafeLocalStore) return;
  if (storageBackend(config.storage) === "lmdb") {
    throw new ConfigError(
      "a cluster (--nats) needs the shared store: give --scylla HOSTS and --redis URL (ROUTER_SCYLLA, ROUTER_REDIS); " +
        "on each node's own LMDB a chat's new owner loses its messages",
    );
  }
}

function validateStorage(storage: NodeConfig["storage"]): void {
  storageBackend(storage);
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(storage.keyspace)) {
    throw new ConfigError(`keyspace ${JSON.stringify(storage.keyspace)} must be lower case letters, digits and _, starting with a letter`);
  }
  if (!Number.isInteger(storage.replication)) throw new ConfigError("storage.replication must be a whole number (0: automatic)");
  if (storage.cqlRequestTimeoutMs <= 0 || storage.redisCommandTimeoutMs <= 0) throw new ConfigError("storage timeouts must be positive");
  if (!(storage.watermarkFlushMs >= 0 && storage.watermarkFlushMs <= 10_000)) throw new ConfigError("storage.watermarkFlushMs must be between 0 and 10000");
}
