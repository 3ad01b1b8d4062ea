import { validateSignupConfig } from "./config/signup.ts";
import { readSecretFile } from "./auth/secret-file.ts";
import { loadOrCreateSecret } from "./auth/tokens.ts";
import { handOff, resyncAfterOutage } from "./cluster/hand-off.ts";
import { storageBackend, type NodeConfig } from "./config.ts";
import { MediaAccess } from "./media/access.ts";
import { ProfileService } from "./accounts/profiles.ts";
import { drainActors, startActors, type NodeActors } from "./node/actors.ts";
import { startEdge } from "./node/edge.ts";
import { instrumentBackend, nodeMetrics, startTracing, watchGauges } from "./node/metrics.ts";
import { accountService, startPush, startRevocations } from "./node/services.ts";
import { Readiness } from "./node/readiness.ts";
import { Shutdown } from "./node/shutdown.ts";
import { startStatus } from "./node/status.ts";
import { CLOSE_CODES } from "./protocol/frames.ts";
import type { PushEvent } from "./push/scheduler.ts";
import type { CallHooks } from "./calls/user-calls.ts";
import type { StatusHooks } from "./status/service.ts";
import { lockDataDir, prepareDataDir } from "./storage/data-dir-lock.ts";
import { openMediaStore } from "./storage/media/open-media-store.ts";
import { withCoalescedWatermarks } from "./storage/coalesced-watermarks.ts";
import { openBackend } from "./storage/open-stores.ts";
import type { MediaStore } from "./storage/media.ts";
import type { Stores } from "./storage/stores.ts";
import { ConnectionRegistry } from "./transport/registry.ts";
import type { RunningTransport } from "./transport/server.ts";
import { systemClock, type Clock } from "./util/clock.ts";
import { createLogger, type Logger } from "./util/logger.ts";
import type { Metrics } from "./util/metrics.ts";

export interface RunningNode {
  nodeId: string;
  port: number;
  metrics: Metrics;
  /** The stores the node runs on, for operator tooling and tests to read what was stored. */
  stores: Stores;
  /** The cluster this node is part of, when started with NATS. */
  cluster?: { members(): readonly string[]; whenMembers(count: number): Promise<void> };
  /** Settles once the node has stopped, whoever stopped it (a signal, or an operator's drain). */
  stopped: Promise<void>;
  /** Graceful: stop accepting, tell clients to reconnect, let writes in flight land, close stores. */
  stop(): Promise<void>;
}

export interface NodeOverrides {
  /** Stores to use instead of the configured backend (tests wrap them to inject faults). */
  stores?: Stores;
  logger?: Logger;
  /** A media store instead of the configured one; the node closes it on stop. */
  media?: MediaStore;
  /** Sees every push decision (tests wait on these instead of sleeping). */
  pushObserver?: (event: PushEvent) => void;
  /** What windows and TTLs read (tests move a ManualClock on instead of sleeping). */
  clock?: Clock;
  /** Further reasons a call may not ring (tests); the callee's block list is always asked (user-actor.ts). */
  callHooks?: CallHooks;
  /** Further reasons to hide a poster's statuses from a viewer (tests); blocks always hide them (actors/blocking.ts). */
  statusHooks?: StatusHooks;
}

/**
 * Starts a node: each part opens in turn and adds what undoes it to the node's shutdown
 * steps, so a start that fails half-way and a stop undo the same things the same way.
 */
export async function startNode(config: NodeConfig, overrides: NodeOverrides = {}): Promise<RunningNode> {
  const log = overrides.logger ?? createLogger(config.logLevel, config.nodeId);
  const shutdown = new Shutdown(log);
  try {
    return await startParts(config, overrides, log, shutdown);
  } catch (error) {
    // Closed in reverse so the process can exit (and an in-process test can start another
    // node on this directory).
    await shutdown.run("failed start");
    throw error;
  }
}

async function startParts(config: NodeConfig, overrides: NodeOverrides, log: Logger, shutdown: Shutdown): Promise<RunningNode> {
  const startedAt = Date.now();
  const clock = overrides.clock ?? systemClock;
  // Before anything is opened: a second node on this directory must not touch its stores.
  if (prepareDataDir(config.dataDir)) log.warn({ dataDir: config.dataDir }, "data directory was open to other users; made it owner-only");
  const lock = lockDataDir(config.dataDir);
  shutdown.add({ name: "release data directory", run: () => lock.release() });
  warnOfUnsafeLocalStore(config, log);
  // Before anything opens: a sender that cannot work is a ConfigError, not a 502 per request.
  const smsSender = validateSignupConfig(config.signup);
  const secret = config.secret || (config.secretFile ? readSecretFile(config.secretFile) : loadOrCreateSecret(config.dataDir));
  const { metrics, counters, histograms, latency } = nodeMetrics();
  const tracing = await startTracing(config, shutdown);
  // Instrumented below the coalescer, so store latency counts the writes that reach the store.
  const opened = instrumentBackend(await openBackend(config, log, overrides.stores), histograms, tracing);
  const backend = { ...opened, stores: withCoalescedWatermarks(opened.stores, { windowMs: config.storage.watermarkFlushMs, clock, log }) };
  shutdown.add({ name: "close stores", run: () => backend.stores.close() });
  const mediaStore = overrides.media ?? (await openMediaStore(config));
  shutdown.add({ name: "close media store", run: () => mediaStore.close() });
  const stores = backend.stores;
  // Profile photos are readable by whoever may see the profile: media access asks the profiles.
  const profiles = stores.profiles ? new ProfileService({ profiles: stores.profiles, privacy: stores.privacy, contacts: stores.contacts, blocks: stores.blocks, media: mediaStore }) : undefined;
  const media = new MediaAccess(mediaStore, stores.groups, profiles);
  const registry = new ConnectionRegistry(config.nodeId);
  const { revocations, store: revocationStore } = await startRevocations(config, backend, registry, log, shutdown);
  const push = startPush(config, backend, counters, clock, log, shutdown, overrides.pushObserver);
  const actors = await startActors({ config, log, clock, backend, registry, media, push, counters, histograms, tracing, shutdown, callHooks: overrides.callHooks });
  const status = startStatus({ config, log, clock, backend, actors, media, metrics, hooks: overrides.statusHooks, shutdown });
  watchGauges(metrics, {
    connections: () => registry.size,
    calls: () => actors.calls.size,
    userActors: () => actors.users.size,
    conversationActors: () => actors.conversations.size,
    redisUp: () => backend.redisUp(),
  });
  const accounts = accountService(config, { backend, clock, secret, smsSender, registry, revocationStore, log });
  // Any chat id will do: the probe asks the message store one cheap question.
  const readiness = new Readiness(() => backend.stores.messages.lastSeq("d:readyz:readyz"), log.child({ component: "readiness" }));
  readiness.start();
  const transport = await startEdge({ config, log, secret, backend, registry, actors, push, revocations, revocationStore, media, profiles, accounts, status, metrics, counters, latency, tracing, startedAt, readiness });
  stopTakingWork(actors, registry, transport, shutdown);
  // Added last, so it runs first: load balancers stop sending clients before anything closes.
  shutdown.add({ name: "report not ready", run: () => readiness.markStopping() });
  const stop = () => shutdown.run("stop");
  await announceToCluster(actors, registry, transport, config, log, stop);
  readiness.markAnnounced();
  log.info({ host: config.host, port: transport.port, backend: backend.stores.backend, dataDir: config.dataDir, cluster: actors.cluster !== undefined }, "node listening");
  return { nodeId: config.nodeId, port: transport.port, metrics, stores: backend.stores, cluster: actors.cluster, stop, stopped: shutdown.finished };
}

/**
 * The first steps of a graceful stop: stop accepting, leave the ring (peers take the actors
 * over), tell clients to reconnect (1001), then let what actors queued and started land.
 * Added last, so they run first.
 */
function stopTakingWork(actors: NodeActors, registry: ConnectionRegistry, transport: RunningTransport, shutdown: Shutdown): void {
  drainActors(actors, shutdown);
  shutdown.add({
    name: "close client connections",
    run: () => {
      for (const connection of [...registry.all()]) connection.close(CLOSE_CODES.going_away, "node shutting down; reconnect");
    },
  });
  const cluster = actors.cluster;
  if (cluster) shutdown.add({ name: "leave the ring", run: () => cluster.leave() });
  shutdown.add({ name: "stop listening", run: () => transport.stopListening() });
}

/** In a cluster: announce this node's address, follow the ring and hand actors off as it changes. */
async function announceToCluster(
  actors: NodeActors,
  registry: ConnectionRegistry,
  transport: RunningTransport,
  config: NodeConfig,
  log: Logger,
  stop: () => Promise<void>,
): Promise<void> {
  const { cluster, users, conversations, presence, callService } = actors;
  if (!cluster) return;
  await cluster.start({
    address: `${config.host}:${transport.port}`,
    readLoad: () => ({ connections: registry.size, actors: users.size + conversations.size }),
    // Drain is a graceful stop: leave the ring first so peers take the actors over, then
    // close sockets with 1001 so clients reconnect elsewhere.
    onDrain: () => void stop(),
    onLinkRestored: resyncAfterOutage(registry, log),
    onRingChange: handOff({ connections: registry, users, conversations, presence, calls: callService, owns: (key) => cluster.owns(key) }),
  });
}

function warnOfUnsafeLocalStore(config: NodeConfig, log: Logger): void {
  if (config.cluster.nats && config.cluster.unsafeLocalStore && storageBackend(config.storage) === "lmdb") {
    log.warn(
      { dataDir: config.dataDir },
      "unsafe local store cluster: each node keeps its own lmdb, acknowledged messages are lost when a chat's owner changes; development only",
    );
  }
}
