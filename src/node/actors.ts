import { start as startActorSystem, stop as stopActorSystem } from "nact";
import { conversationBehaviour } from "../actors/conversation-actor.ts";
import type { ConversationState } from "../actors/conversation-kit.ts";
import { ActorDirectory, type DirectoryEvents } from "../actors/directory.ts";
import type { ConversationMessage, UserMessage } from "../actors/messages.ts";
import type { ClientLink, Tell, TellIfActive } from "../seams.ts";
import { PresenceHub } from "../actors/presence-hub.ts";
import { userBehaviour, type UserState } from "../actors/user-actor.ts";
import type { CallState } from "../actors/call-state.ts";
import type { CallMessage } from "../calls/messages.ts";
import { CallTracker, type CallService } from "../calls/service.ts";
import { NO_CALL_BLOCKING, type CallHooks } from "../calls/user-calls.ts";
import type { ClusterNode } from "../cluster/cluster-node.ts";
import type { LocalTargets } from "../cluster/routing.ts";
import type { DispatchObserver } from "../cluster/remote-dispatch.ts";
import type { NodeConfig } from "../config.ts";
import type { MediaAccess } from "../media/access.ts";
import type { PushService } from "../push/service.ts";
import type { Backend } from "../storage/open-stores.ts";
import type { ConnectionRegistry } from "../transport/registry.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import { startCalls, userCallDeps } from "./calls.ts";
import type { NodeCounters, NodeHistograms } from "./metrics.ts";
import type { Shutdown } from "./shutdown.ts";
import { TracedDirectory, tracedBehaviour } from "../observability/traced-actors.ts";
import type { NodeTracing } from "../observability/tracing.ts";

/** How long a stopping node lets actors finish what they queued and started (store writes). */
const DRAIN_TIMEOUT_MS = 5000;

type Directory<Msg> = Tell<Msg> & TellIfActive<Msg>;

export interface NodeActors {
  users: ActorDirectory<UserMessage, UserState>;
  conversations: ActorDirectory<ConversationMessage, ConversationState>;
  /** The calls this node placed (each lives on its caller's node, see src/calls/). */
  calls: ActorDirectory<CallMessage, CallState>;
  callService: CallService;
  presence: PresenceHub;
  /** Where sessions and services send: through the ring in a cluster, to this node's directories alone. */
  routes: {
    users: Directory<UserMessage>;
    conversations: Directory<ConversationMessage>;
    calls: Tell<CallMessage>;
    link: ClientLink;
  };
  /** This node's part in the cluster, when configured with NATS (joined, not yet announced). */
  cluster: ClusterNode | undefined;
}

export interface ActorParts {
  config: NodeConfig;
  log: Logger;
  clock: Clock;
  backend: Backend;
  registry: ConnectionRegistry;
  media: MediaAccess;
  push: PushService;
  counters: NodeCounters;
  histograms: NodeHistograms;
  /** Present when tracing is on: actor messages then carry their trace. */
  tracing: NodeTracing | undefined;
  shutdown: Shutdown;
  /** Where blocking decides whether a call may ring. */
  callHooks: CallHooks | undefined;
}

/**
 * The node's actors and the routing between them: presence, the ring (in a cluster), and
 * the user and chat directories. Alone, actors reach each other and sockets directly; in a
 * cluster, through the ring.
 */
export async function startActors(parts: ActorParts): Promise<NodeActors> {
  const { config, log, backend, registry, shutdown } = parts;
  const presence = new PresenceHub({
    link: registry,
    store: backend.stores.presence,
    privacy: backend.stores.privacy,
    contacts: backend.stores.contacts,
    blocks: backend.stores.blocks,
    onlineSet: backend.online,
    nodeId: config.nodeId,
    log: log.child({ component: "presence" }),
  });
  // The ring delivers to this node's directories, and the directories' behaviours send
  // through the ring: the ring is joined first, with stand-ins bound once they are built.
  const local = {
    users: new LateDirectory<UserMessage>(),
    conversations: new LateDirectory<ConversationMessage>(),
    calls: new LateDirectory<CallMessage>(),
  };
  // Call frames to this node's sockets pass the tracker, so it knows which devices are in which calls.
  const callTracker = new CallTracker();
  const localLink = callTracker.tap(registry);
  const tracing = parts.tracing;
  const cluster = await joinClusterIfConfigured(config, { ...local, connections: localLink, presence }, log, shutdown, {
    dispatched: parts.histograms.natsDispatch.labels(),
    ...(tracing ? { tracing } : {}),
  });
  const routes: NodeActors["routes"] = cluster?.routing ?? { ...local, link: localLink };
  if (cluster) presence.announce = (user, online, at, shown) => cluster.dispatch.broadcast({ to: "presence", user, online, at, shown });

  const system = startActorSystem();
  shutdown.add({ name: "stop actor system", run: () => stopActorSystem(system) });
  const events: DirectoryEvents = {
    restart: (kind) => parts.counters.restarts(1, { kind }),
    escalate: (kind) => parts.counters.escalations(1, { kind }),
    deadLetter: (kind) => parts.counters.deadLetters(1, { kind }),
  };
  const users = new ActorDirectory(
    system,
    "users",
    traced("users", userBehaviour({ ...userDeps(parts, routes, presence), calls: userCallDeps(config, cluster, routes, parts.callHooks ?? NO_CALL_BLOCKING) }), tracing),
    config.actors,
    log.child({ component: "users" }),
    events,
  );
  const conversations = new ActorDirectory<ConversationMessage, ConversationState>(
    system,
    "conversations",
    (self) => traced("conversations", conversationBehaviour(conversationDeps(parts, routes, self)), tracing),
    config.actors,
    log.child({ component: "conversations" }),
    events,
  );
  const { calls, service: callService } = startCalls({
    config,
    log,
    system,
    clock: parts.clock,
    cluster,
    routes,
    groups: backend.stores.groups,
    push: parts.push,
    tracker: callTracker,
    events,
  });
  local.users.bind(tracing ? new TracedDirectory(users, tracing) : users);
  local.conversations.bind(tracing ? new TracedDirectory(conversations, tracing) : conversations);
  local.calls.bind(calls);
  shutdown.add({
    name: "stop actors",
    run: () => {
      users.stopAll();
      conversations.stopAll();
      calls.stopAll();
    },
  });
  return { users, conversations, calls, callService, presence, routes, cluster };
}

/** The steps that stop the actors' work once no new work comes in (clients are gone). */
export function drainActors(actors: NodeActors, shutdown: Shutdown): void {
  shutdown.add({ name: "let actors finish", deadlineMs: DRAIN_TIMEOUT_MS, run: () => untilIdle([actors.users, actors.conversations]) });
}

/** Resolves at an instant when none of `directories` has mail queued or work in flight. */
async function untilIdle(directories: ReadonlyArray<{ busy(): boolean; whenIdle(): Promise<void> }>): Promise<void> {
  // One directory's actors tell the other's: both idle at once, not each at some point.
  while (directories.some((directory) => directory.busy())) await Promise.all(directories.map((directory) => directory.whenIdle()));
}

async function joinClusterIfConfigured(
  config: NodeConfig,
  local: LocalTargets,
  log: Logger,
  shutdown: Shutdown,
  observe: DispatchObserver,
): Promise<ClusterNode | undefined> {
  if (!config.cluster.nats) return undefined;
  // The NATS client loads only for a cluster.
  const { joinCluster } = await import("../cluster/cluster-node.ts");
  const cluster = await joinCluster(config, local, log, observe);
  shutdown.add({ name: "close cluster link", run: () => cluster.close() });
  return cluster;
}

function userDeps(parts: ActorParts, routes: NodeActors["routes"], presence: PresenceHub): Parameters<typeof userBehaviour>[0] {
  const { config } = parts;
  return {
    nodeId: config.nodeId,
    stores: parts.backend.stores,
    link: routes.link,
    conversations: routes.conversations,
    log: parts.log.child({ component: "user" }),
    syncLimitPerChat: config.syncLimitPerChat,
    presence,
    frameBudget: { framesPerSecond: config.limits.userFramesPerSecond, burst: config.limits.userFrameBurst },
    maxDevices: config.limits.maxDevicesPerUser,
    contactLimits: { maxContacts: config.contacts.maxContacts, maxBlocks: config.contacts.maxBlocks },
    clock: parts.clock,
  };
}

function conversationDeps(
  parts: ActorParts,
  routes: NodeActors["routes"],
  self: ActorDirectory<ConversationMessage, ConversationState>,
): Parameters<typeof conversationBehaviour>[0] {
  const { config, counters } = parts;
  return {
    stores: parts.backend.stores,
    link: routes.link,
    users: routes.users,
    self,
    media: parts.media,
    clock: parts.clock,
    log: parts.log.child({ component: "conversation" }),
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
    onDurable: (entries) => parts.push.onDurable(entries),
  };
}

function traced<B extends { handle(state: never, message: never, key: string): unknown }>(kind: string, behaviour: B, tracing: NodeTracing | undefined): B {
  return tracing ? tracedBehaviour(kind, behaviour, tracing) : behaviour;
}

/** A directory built after it is handed out; using it before then is a bug in the wiring. */
class LateDirectory<Msg> implements Directory<Msg> {
  private target: Directory<Msg> | undefined;

  bind(target: Directory<Msg>): void {
    this.target = target;
  }

  tell(key: string, message: Msg): void {
    this.bound().tell(key, message);
  }

  tellIfActive(key: string, message: Msg): boolean {
    return this.bound().tellIfActive(key, message);
  }

  private bound(): Directory<Msg> {
    if (!this.target) throw new Error("an actor directory was used before it was built");
    return this.target;
  }
}
