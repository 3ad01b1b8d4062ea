import { start as startActorSystem, stop as stopActorSystem } from "nact";
import { ActorDirectory } from "./actors/directory.ts";
import { validateSignupConfig } from "./config/signup.ts";
import { registerAccountRoutes } from "./accounts/http.ts";
import { AccountService } from "./accounts/service.ts";
import { openSmsSender } from "./accounts/sms/open.ts";
import { conversationBehaviour } from "./actors/conversation-actor.ts";
import type { ConversationState } from "./actors/conversation-kit.ts";
import type { ConversationMessage, UserMessage } from "./actors/messages.ts";
import type { ClientLink } from "./seams.ts";
import { PresenceHub } from "./actors/presence-hub.ts";
import { MediaAccess } from "./media/access.ts";
import { registerMediaRoutes } from "./media/http.ts";
import { mediaStagingDir, openMediaStore } from "./storage/media/open-media-store.ts";
import type { MediaStore } from "./storage/media.ts";
import type { Stores } from "./storage/stores.ts";
import { KeyService } from "./keys/key-service.ts";
import { PushService } from "./push/service.ts";
import { CallService, CallTracker } from "./calls/service.ts";
import { callBehaviour, type CallState } from "./actors/call-actor.ts";
import type { CallMessage } from "./calls/messages.ts";
import { NO_CALL_BLOCKING, type CallHooks } from "./calls/user-calls.ts";
import { turnUrls } from "./calls/turn.ts";
import { NO_STATUS_HIDING, StatusService, type StatusHooks } from "./status/service.ts";
import type { PushEvent } from "./push/scheduler.ts";
import { chatKey, userKey } from "./cluster/routing.ts";
import { userBehaviour, type UserState } from "./actors/user-actor.ts";
import { readSecretFile } from "./auth/secret-file.ts";
import { loadOrCreateSecret } from "./auth/tokens.ts";
import { Revocations } from "./auth/revocations.ts";
import { openRevocationStore } from "./storage/open-revocations.ts";
import { storageBackend, type NodeConfig } from "./config.ts";
import { CLOSE_CODES } from "./protocol/frames.ts";
import { LocalRateLimits } from "./storage/local-rate-limits.ts";
import { lockDataDir, prepareDataDir, type DataDirLock } from "./storage/data-dir-lock.ts";
import { openBackend, type BackendHealth } from "./storage/open-stores.ts";
import { ConnectionRegistry } from "./transport/registry.ts";
import { startTransport } from "./transport/server.ts";
import type { TemplatedApp } from "uWebSockets.js";
import { SessionProtocol } from "./transport/session-protocol.ts";
import { createLogger, type Logger } from "./util/logger.ts";
import { systemClock, type Clock } from "./util/clock.ts";
import { Metrics } from "./util/metrics.ts";

export interface RunningNode {
  nodeId: string;
  port: number;
  metrics: Metrics;
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
  /** Where blocking decides whether a call may ring (until it lands, nobody is blocked). */
  callHooks?: CallHooks;
  /** Where blocking hides a poster's statuses from a viewer (until it lands, only the audience decides). */
  statusHooks?: StatusHooks;
}

const DRAIN_TIMEOUT_MS = 5000;

export async function startNode(config: NodeConfig, overrides: NodeOverrides = {}): Promise<RunningNode> {
  const log = overrides.logger ?? createLogger(config.logLevel, config.nodeId);
  // Before anything is opened: a second node on this directory must not touch its stores.
  if (prepareDataDir(config.dataDir)) log.warn({ dataDir: config.dataDir }, "data directory was open to other users; made it owner-only");
  const lock = lockDataDir(config.dataDir);
  // What a start that fails half-way has opened, closed in reverse so the process can exit
  // (and an in-process test can start another node on this directory).
  const opened: Array<() => unknown> = [() => lock.release()];
  try {
    return await startLocked(config, overrides, log, lock, opened);
  } catch (error) {
    for (const close of opened.reverse()) {
      try {
        await close();
      } catch (closeError) {
        log.warn({ err: closeError }, "closing after a failed start failed");
      }
    }
    throw error;
  }
}

async function startLocked(
  config: NodeConfig,
  overrides: NodeOverrides,
  log: Logger,
  lock: DataDirLock,
  opened: Array<() => unknown>,
): Promise<RunningNode> {
  const startedAt = Date.now();
  if (config.cluster.nats && config.cluster.unsafeLocalStore && storageBackend(config.storage) === "lmdb") {
    log.warn(
      { dataDir: config.dataDir },
      "unsafe local store cluster: each node keeps its own lmdb, acknowledged messages are lost when a chat's owner changes; development only",
    );
  }
  // Before anything opens: a sender that cannot work is a ConfigError, not a 502 per request.
  const smsSender = validateSignupConfig(config.signup);
  const secret = config.secret || (config.secretFile ? readSecretFile(config.secretFile) : loadOrCreateSecret(config.dataDir));
  const backend = await openBackend(config, log, overrides.stores);
  const stores = backend.stores;
  opened.push(() => stores.close());
  const metrics = new Metrics();
  const mediaStore = overrides.media ?? (await openMediaStore(config));
  opened.push(() => mediaStore.close());
  const media = new MediaAccess(mediaStore, stores.groups);
  let stopping: Promise<void> | undefined;
  let markStopped: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  // The directory is free again once the node has stopped, also when closing a store failed.
  const stopNode = () => (stopping ??= stop().finally(() => lock.release()).then(markStopped));

  const counters = {
    framesIn: metrics.counter("router_frames_in_total", "Frames received from clients"),
    framesOut: metrics.counter("router_frames_out_total", "Frames sent to clients"),
    rejected: metrics.counter("router_frames_rejected_total", "Inbound frames answered with an error, by code"),
    stored: metrics.counter("router_messages_stored_total", "Messages made durable"),
    restarts: metrics.counter("router_actor_restarts_total", "Actors restarted after a crash, by kind"),
    escalations: metrics.counter("router_actor_escalations_total", "Actors stopped for crashing too often, by kind"),
    deadLetters: metrics.counter("router_dead_letters_total", "Messages for actors that could not take them, by kind"),
    droppedEphemeral: metrics.counter("router_ephemeral_dropped_total", "Typing and presence frames dropped under backpressure"),
    slowConsumers: metrics.counter("router_slow_consumers_total", "Connections closed because their send buffer overflowed"),
    opened: metrics.counter("router_connections_opened_total", "WebSocket connections accepted"),
    accounts: metrics.counter("router_account_requests_total", "Sign-up and refresh requests answered, by route, status and error"),
    writeConflicts: metrics.counter("router_write_conflicts_total", "Message batches refused because another node had written the chat"),
  };

  const pushOutcomes = metrics.counter("router_push_total", "Push decisions per device, by outcome");
  const clock = overrides.clock ?? systemClock;
  const push = new PushService({
    config: config.push,
    clock,
    store: stores.push,
    cursors: stores.cursors,
    log: log.child({ component: "push" }),
    observe: (event) => {
      pushOutcomes(1, { outcome: event.type === "skipped" ? event.reason : event.type });
      overrides.pushObserver?.(event);
    },
  });

  const system = startActorSystem();
  opened.push(() => stopActorSystem(system));
  opened.push(() => push.stop());
  const registry = new ConnectionRegistry(config.nodeId);
  // `router token revoke`: each node closes its own connections running on a revoked token.
  // On the cluster backend it shares the node's Redis connection, so an outage is one outage.
  const revocationStore = backend.revocations ?? (await openRevocationStore(config, log));
  const revocationLog = log.child({ component: "revocations" });
  const revocations = new Revocations(revocationStore, revocationLog, (revoked) => {
    let closed = 0;
    for (const connection of registry.ofUser(revoked.user)) {
      if ((revoked.device === undefined || revoked.device === connection.device) && connection.tokenIssuedAt <= revoked.at) {
        connection.close(CLOSE_CODES.unauthorized, "token revoked");
        closed += 1;
      }
    }
    if (closed > 0) revocationLog.info({ user: revoked.user, device: revoked.device, closed }, "connections on revoked tokens closed");
  });
  if (!backend.revocations) opened.push(() => revocationStore.close());
  await revocations.start();
  opened.push(() => revocations.stop());
  const directoryEvents = {
    restart: (kind: string) => counters.restarts(1, { kind }),
    escalate: (kind: string) => counters.escalations(1, { kind }),
    deadLetter: (kind: string) => counters.deadLetters(1, { kind }),
  };

  // The two directories refer to each other; each behaviour reaches the other through these.
  let users: ActorDirectory<UserMessage, UserState>;
  let conversations: ActorDirectory<ConversationMessage, ConversationState>;
  const localUsers = {
    tell: (user: string, message: UserMessage) => users.tell(user, message),
    tellIfActive: (user: string, message: UserMessage) => users.tellIfActive(user, message),
  };
  const localConversations = {
    tell: (chat: string, message: ConversationMessage) => conversations.tell(chat, message),
    tellIfActive: (chat: string, message: ConversationMessage) => conversations.tellIfActive(chat, message),
  };
  let calls: ActorDirectory<CallMessage, CallState>;
  const localCalls = { tell: (call: string, message: CallMessage) => calls.tell(call, message) };
  // Call frames to this node's sockets pass the tracker, so it knows which devices are in which calls.
  const callTracker = new CallTracker();
  const localLink = callTracker.tap(registry);
  const presence = new PresenceHub({
    link: registry,
    store: stores.presence,
    privacy: stores.privacy,
    onlineSet: backend.online,
    nodeId: config.nodeId,
    log: log.child({ component: "presence" }),
  });
  // Alone, actors reach each other and sockets directly; in a cluster, through the ring. The
  // NATS client loads only for a cluster.
  const cluster = config.cluster.nats
    ? await (await import("./cluster/cluster-node.ts")).joinCluster(config, { users: localUsers, conversations: localConversations, connections: localLink, presence, calls: localCalls }, log)
    : undefined;
  if (cluster) opened.push(() => cluster.close());
  const userDirectory = cluster?.routing.users ?? localUsers;
  const conversationDirectory = cluster?.routing.conversations ?? localConversations;
  const link: ClientLink = cluster?.routing.link ?? localLink;
  if (cluster) presence.announce = (user, online, at, shown) => cluster.dispatch.broadcast({ to: "presence", user, online, at, shown });
  const callDirectory = cluster?.routing.calls ?? localCalls;
  const callPlacement = {
    self: config.nodeId,
    members: () => cluster?.members() ?? [config.nodeId],
    ownerOf: (key: string) => cluster?.dispatch.ownerOf(key) ?? config.nodeId,
  };
  const alive = (node: string) => node === config.nodeId || callPlacement.members().includes(node);

  users = new ActorDirectory(
    system,
    "users",
    userBehaviour({
      nodeId: config.nodeId,
      stores,
      link,
      conversations: conversationDirectory,
      log: log.child({ component: "user" }),
      syncLimitPerChat: config.syncLimitPerChat,
      presence,
      frameBudget: { framesPerSecond: config.limits.userFramesPerSecond, burst: config.limits.userFrameBurst },
      maxDevices: config.limits.maxDevicesPerUser,
      clock,
      calls: { link, calls: callDirectory, hooks: overrides.callHooks ?? NO_CALL_BLOCKING, alive },
    }),
    config.actors,
    log.child({ component: "users" }),
    directoryEvents,
  );
  conversations = new ActorDirectory(
    system,
    "conversations",
    conversationBehaviour({
      stores,
      link,
      users: userDirectory,
      self: () => conversations,
      media,
      clock,
      log: log.child({ component: "conversation" }),
      limits: {
        maxGroupMembers: config.groups.maxMembers,
        fanoutThreshold: config.groups.fanoutThreshold,
        maxGroupsPerUser: config.groups.maxPerUser,
        inviteTtlMs: config.groups.inviteTtlMs,
        maxPendingInvites: config.groups.maxPendingInvites,
        editWindowMs: config.messages.editWindowMs,
        deleteWindowMs: config.messages.deleteWindowMs,
        typingThrottleMs: config.typing.throttleMs,
        typingExpiryMs: config.typing.expiryMs,
      },
      onStored: (count) => counters.stored(count),
      onConflict: () => counters.writeConflicts(),
      onDurable: (entries) => push.onDurable(entries),
    }),
    config.actors,
    log.child({ component: "conversations" }),
    directoryEvents,
  );

  calls = new ActorDirectory(
    system,
    "calls",
    callBehaviour({
      link,
      users: userDirectory,
      conversations: conversationDirectory,
      groups: stores.groups,
      self: () => calls,
      ringTimeoutMs: config.calls.ringTimeoutMs,
      maxParticipants: config.calls.maxParticipants,
      clock,
      wake: (user, call, caller, video, ttlMs, connected) => void push.ringCall(user, { call, from: caller, video, ttlMs }, connected),
      log: log.child({ component: "call" }),
    }),
    config.actors,
    log.child({ component: "calls" }),
    directoryEvents,
  );
  const callService = new CallService(
    {
      link,
      calls: callDirectory,
      placement: callPlacement,
      turn: config.calls.turn.secret
        ? { secret: config.calls.turn.secret, urls: turnUrls(config.calls.turn.urls), ttlSeconds: config.calls.turn.ttlSeconds }
        : undefined,
      log: log.child({ component: "calls" }),
    },
    callTracker,
  );

  const statusService = new StatusService({
    store: stores.status,
    clock,
    users: userDirectory,
    online: backend.online,
    rateLimits: backend.rateLimits ?? new LocalRateLimits(),
    messages: stores.messages,
    groups: stores.groups,
    media,
    settings: config.status,
    hooks: overrides.statusHooks ?? NO_STATUS_HIDING,
    log: log.child({ component: "status" }),
  });
  media.statusReader = (user, chat) => statusService.mayReadMedia(user, chat);
  // Every node runs the timer; in a cluster only the ring's owner of "status-sweep" sweeps (the
  // sweep is idempotent, so a ring change that briefly gives two owners does no harm).
  const statusSweeps = metrics.counter("router_status_swept_total", "Expired statuses removed by the sweep");
  let sweeping = false;
  const statusSweep = setInterval(() => {
    if (sweeping || callPlacement.ownerOf("status-sweep") !== config.nodeId) return;
    sweeping = true;
    statusService
      .sweep()
      .then((removed) => {
        if (removed > 0) statusSweeps(removed);
      })
      .catch((error: unknown) => log.warn({ err: error }, "status sweep failed"))
      .finally(() => (sweeping = false));
  }, config.status.sweepIntervalMs);
  statusSweep.unref();
  opened.push(() => clearInterval(statusSweep));

  metrics.gauge("router_connections", "Open WebSocket connections", () => registry.size);
  metrics.gauge("router_calls", "Calls held by this node", () => calls.size);
  metrics.gauge("router_user_actors", "Live user actors", () => users.size);
  metrics.gauge("router_conversation_actors", "Live conversation actors", () => conversations.size);
  if (backend.redisUp() !== undefined) {
    metrics.gauge("router_redis_up", "1 while Redis answers; 0 while presence runs degraded without it", () => backend.redisUp() ?? 0);
  }

  const protocol = new SessionProtocol({
    secret,
    registry,
    users: userDirectory,
    conversations: conversationDirectory,
    presence,
    keys: new KeyService({
      store: stores.keys,
      users: userDirectory,
      log: log.child({ component: "keys" }),
      rateLimits: backend.rateLimits ?? new LocalRateLimits(),
      claims: { perWindow: config.keys.claimsPerWindow, windowMs: config.keys.claimWindowMs, perTarget: config.keys.claimsPerTargetWindow },
    }),
    push,
    revocations,
    calls: callService,
    status: statusService,
    log: log.child({ component: "session" }),
    events: { frameIn: () => counters.framesIn(), rejected: (code) => counters.rejected(1, { code }) },
  });

  const accounts = stores.accounts
    ? new AccountService({
        store: stores.accounts,
        ...(smsSender ? { sender: openSmsSender(smsSender, config.signup, log.child({ component: "sms" })) } : {}),
        rateLimits: backend.rateLimits ?? new LocalRateLimits(),
        secret,
        config: config.signup,
        clock,
        log: log.child({ component: "accounts" }),
        hooks: {
          // The device's access tokens are revoked on every node (which closes its sockets
          // wherever they are); this node's own sockets close at once.
          onDeviceCompromised: (user, device) => {
            closeDeviceSockets(registry, user, device);
            revocationStore.revoke(user, device, Date.now()).catch((error: unknown) => {
              log.error({ err: error, user, device }, "revoking a compromised device's tokens failed");
            });
          },
        },
      })
    : undefined;

  const transport = await startTransport(
    { nodeId: config.nodeId, host: config.host, port: config.port, ...config.limits },
    {
      registry,
      protocol,
      log: log.child({ component: "transport" }),
      outbound: {
        framesOut: (count) => counters.framesOut(count),
        droppedEphemeral: () => counters.droppedEphemeral(),
        slowConsumer: () => counters.slowConsumers(),
      },
      onOpen: () => counters.opened(),
      onClose: (connection) => {
        presence.unwatch(connection.ref);
        callService.connectionClosed(connection.ref);
        if (connection.user) userDirectory.tell(connection.user, { type: "detach", device: connection.device, conn: connection.ref });
      },
      health: () => ({
        ...storageHealth(backend.health()),
        node: config.nodeId,
        backend: stores.backend,
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
        connections: registry.size,
      }),
      metrics: () => metrics.render(),
      routes: [
        ...(accounts
          ? [(app: TemplatedApp) => registerAccountRoutes(app, accounts, log.child({ component: "accounts" }), (route, status, error) => counters.accounts(1, { route, status: String(status), ...(error ? { error } : {}) }))]
          : []),
        (app) =>
          registerMediaRoutes(app, {
            secret,
            access: media,
            maxUploadBytes: config.media.maxUploadBytes,
            stagingDir: mediaStagingDir(config),
            presignTtlSeconds: config.media.presignTtlSeconds,
            revocations,
            log: log.child({ component: "media" }),
          }),
      ],
    },
  );
  opened.push(() => transport.stopListening());
  if (cluster) {
    await cluster.start({
      address: `${config.host}:${transport.port}`,
      readLoad: () => ({ connections: registry.size, actors: users.size + conversations.size }),
      // Drain is a graceful stop: leave the ring first so peers take the actors over, then
      // close sockets with 1001 so clients reconnect elsewhere.
      onDrain: () => void stopNode(),
      // NATS delivers at most once: frames and deliveries between nodes during the outage may
      // be gone. Devices reconnect and resume from their cursors, which never pass a gap.
      onLinkRestored: () => {
        log.warn({ connections: registry.size }, "nats link restored; asking devices to resync");
        for (const connection of [...registry.all()]) connection.close(CLOSE_CODES.going_away, "cluster link interrupted; reconnect to resync");
      },
      onRingChange: (before, after) => {
      // First, before sockets of moved users close: devices in a call whose node is gone hear it ended.
      callService.ringChanged();
      // Hand-off. A device whose user's actor moved (a node joined, left or died) reconnects,
      // so its session attaches to the new owner and resumes from its cursors: each node
      // closes its own sockets of such users. Actors whose key moved stop here once idle
      // and start on their new owner from the store.
      for (const connection of [...registry.all()]) {
        const key = userKey(connection.user);
        if (connection.user && before.ownerOf(key) !== after.ownerOf(key)) {
          connection.close(CLOSE_CODES.going_away, "user moved to another node; reconnect");
        }
      }
      for (const user of users.keys()) if (!cluster.owns(userKey(user))) users.evict(user);
      const now = Date.now();
      const gone = before.members.filter((node) => !after.members.includes(node));
      for (const node of gone) presence.ownerGone(node, now);
      // Sockets on a node that left never send their detach: the users this node hosts drop
      // those sessions, or they would hold device slots and budget shares for good.
      if (gone.length > 0) for (const user of users.keys()) users.tellIfActive(user, { type: "gateways-gone", nodes: gone });
      for (const chat of conversations.keys()) if (!cluster.owns(chatKey(chat))) conversations.evict(chat);
      },
    });
  }
  log.info({ host: config.host, port: transport.port, backend: stores.backend, dataDir: config.dataDir, cluster: cluster !== undefined }, "node listening");

  async function stop(): Promise<void> {
    transport.stopListening();
    await cluster?.leave();
    for (const connection of [...registry.all()]) connection.close(CLOSE_CODES.going_away, "node shutting down; reconnect");
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while ((conversations.busy() || users.busy()) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    clearInterval(statusSweep);
    users.stopAll();
    conversations.stopAll();
    calls.stopAll();
    stopActorSystem(system);
    await cluster?.close();
    await push.stop();
    revocations.stop();
    if (!backend.revocations) await revocationStore.close();
    await stores.close();
    await mediaStore.close();
    log.info("node stopped");
  }

  return {
    nodeId: config.nodeId,
    port: transport.port,
    metrics,
    cluster,
    stop: stopNode,
    stopped,
  };
}

/**
 * A refresh token of this device was used twice (AccountHooks.onDeviceCompromised); its
 * refresh family is revoked in the store already. Here: its live sockets on this node close
 * with 4001. Its access tokens stay valid until they expire: revoking them (a revocation store
 * checked at hello, reaching sockets on every node) belongs here too once there is one.
 */
function closeDeviceSockets(registry: ConnectionRegistry, user: string, device: string): void {
  for (const connection of [...registry.all()]) {
    if (connection.user === user && connection.device === device) {
      connection.close(CLOSE_CODES.unauthorized, "device signed out: its refresh token was used twice");
    }
  }
}

/** `/healthz` fields for the backend: `degraded` with the reasons while Redis is unreachable. */
function storageHealth(health: BackendHealth): { status: "ok" | "degraded"; reasons?: string[]; redis?: "up" | "down" } {
  return {
    status: health.status,
    ...(health.reasons.length > 0 ? { reasons: health.reasons } : {}),
    ...(health.redis ? { redis: health.redis } : {}),
  };
}
