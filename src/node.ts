import { start as startActorSystem, stop as stopActorSystem } from "nact";
import { ActorDirectory } from "./actors/directory.ts";
import { conversationBehaviour, type ConversationState } from "./actors/conversation-actor.ts";
import type { ConversationMessage, UserMessage } from "./actors/messages.ts";
import type { ClientLink } from "./actors/messages.ts";
import { PresenceHub } from "./actors/presence-hub.ts";
import { MediaAccess } from "./media/access.ts";
import { registerMediaRoutes } from "./media/http.ts";
import { mediaStagingDir, openMediaStore } from "./storage/media/open-media-store.ts";
import type { MediaStore } from "./storage/types.ts";
import { KeyService } from "./keys/key-service.ts";
import { PushService } from "./push/service.ts";
import { CallService, CallTracker } from "./calls/service.ts";
import { callBehaviour, type CallState } from "./calls/call-actor.ts";
import type { CallMessage } from "./calls/messages.ts";
import { NO_CALL_BLOCKING, type CallHooks } from "./calls/user-calls.ts";
import { turnUrls } from "./calls/turn.ts";
import type { PushEvent } from "./push/scheduler.ts";
import { chatKey, userKey } from "./cluster/routing.ts";
import { userBehaviour, type UserState } from "./actors/user-actor.ts";
import { loadOrCreateSecret } from "./auth/tokens.ts";
import type { NodeConfig } from "./config.ts";
import { CLOSE_CODES } from "./protocol/frames.ts";
import { LocalRateLimits } from "./storage/local-rate-limits.ts";
import { openBackend, type BackendHealth } from "./storage/open-stores.ts";
import type { Stores } from "./storage/types.ts";
import { ConnectionRegistry } from "./transport/registry.ts";
import { startTransport } from "./transport/server.ts";
import { SessionProtocol } from "./transport/session-protocol.ts";
import { createLogger, type Logger } from "./util/logger.ts";
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
  /** Where blocking decides whether a call may ring (until it lands, nobody is blocked). */
  callHooks?: CallHooks;
}

const DRAIN_TIMEOUT_MS = 5000;

export async function startNode(config: NodeConfig, overrides: NodeOverrides = {}): Promise<RunningNode> {
  const startedAt = Date.now();
  const log = overrides.logger ?? createLogger(config.logLevel, config.nodeId);
  const secret = config.secret || loadOrCreateSecret(config.dataDir);
  const backend = await openBackend(config, log, overrides.stores);
  const stores = backend.stores;
  const metrics = new Metrics();
  const mediaStore = overrides.media ?? (await openMediaStore(config));
  const media = new MediaAccess(mediaStore, stores.groups);
  let stopping: Promise<void> | undefined;
  let markStopped: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  const stopNode = () => (stopping ??= stop().then(markStopped));

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
    writeConflicts: metrics.counter("router_write_conflicts_total", "Message batches refused because another node had written the chat"),
  };

  const pushOutcomes = metrics.counter("router_push_total", "Push decisions per device, by outcome");
  const push = new PushService({
    config: config.push,
    store: stores.push,
    cursors: stores.cursors,
    log: log.child({ component: "push" }),
    observe: (event) => {
      pushOutcomes(1, { outcome: event.type === "skipped" ? event.reason : event.type });
      overrides.pushObserver?.(event);
    },
  });

  const system = startActorSystem();
  const registry = new ConnectionRegistry(config.nodeId);
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
  const localConversations = { tell: (chat: string, message: ConversationMessage) => conversations.tell(chat, message) };
  let calls: ActorDirectory<CallMessage, CallState>;
  const localCalls = { tell: (call: string, message: CallMessage) => calls.tell(call, message) };
  // Call frames to this node's sockets pass the tracker, so it knows which devices are in which calls.
  const callTracker = new CallTracker();
  const localLink = callTracker.tap(registry);
  const presence = new PresenceHub({
    link: registry,
    store: stores.presence,
    onlineSet: backend.online,
    nodeId: config.nodeId,
    log: log.child({ component: "presence" }),
  });
  // Alone, actors reach each other and sockets directly; in a cluster, through the ring. The
  // NATS client loads only for a cluster.
  const cluster = config.cluster.nats
    ? await (await import("./cluster/cluster-node.ts")).joinCluster(config, { users: localUsers, conversations: localConversations, connections: localLink, presence, calls: localCalls }, log)
    : undefined;
  const userDirectory = cluster?.routing.users ?? localUsers;
  const conversationDirectory = cluster?.routing.conversations ?? localConversations;
  const link: ClientLink = cluster?.routing.link ?? localLink;
  const callDirectory = cluster?.routing.calls ?? localCalls;
  const callPlacement = {
    self: config.nodeId,
    members: () => cluster?.members() ?? [config.nodeId],
    ownerOf: (key: string) => cluster?.dispatch.ownerOf(key) ?? config.nodeId,
  };
  const alive = (node: string) => node === config.nodeId || callPlacement.members().includes(node);
  if (cluster) presence.announce = (user, online, at) => cluster.dispatch.broadcast({ to: "presence", user, online, at });

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
      log: log.child({ component: "conversation" }),
      limits: {
        maxGroupMembers: config.groups.maxMembers,
        fanoutThreshold: config.groups.fanoutThreshold,
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
      link,
      users: userDirectory,
      log: log.child({ component: "keys" }),
      rateLimits: backend.rateLimits ?? new LocalRateLimits(),
      claims: { perWindow: config.keys.claimsPerWindow, windowMs: config.keys.claimWindowMs },
    }),
    push,
    calls: callService,
    log: log.child({ component: "session" }),
    events: { frameIn: () => counters.framesIn(), rejected: (code) => counters.rejected(1, { code }) },
  });

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
        (app) =>
          registerMediaRoutes(app, {
            secret,
            access: media,
            maxUploadBytes: config.media.maxUploadBytes,
            stagingDir: mediaStagingDir(config),
            presignTtlSeconds: config.media.presignTtlSeconds,
            log: log.child({ component: "media" }),
          }),
      ],
    },
  );
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
      for (const node of before.members) if (!after.members.includes(node)) presence.ownerGone(node, now);
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
    users.stopAll();
    conversations.stopAll();
    calls.stopAll();
    stopActorSystem(system);
    await cluster?.close();
    await push.stop();
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

/** `/healthz` fields for the backend: `degraded` with the reasons while Redis is unreachable. */
function storageHealth(health: BackendHealth): { status: "ok" | "degraded"; reasons?: string[]; redis?: "up" | "down" } {
  return {
    status: health.status,
    ...(health.reasons.length > 0 ? { reasons: health.reasons } : {}),
    ...(health.redis ? { redis: health.redis } : {}),
  };
}
