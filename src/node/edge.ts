import type { TemplatedApp } from "../uws.ts";
import { ChatList } from "../accounts/chat-list.ts";
import { AccountDeletion } from "../accounts/delete-account.ts";
import { registerAccountRoutes } from "../accounts/http.ts";
import type { ProfileService } from "../accounts/profiles.ts";
import type { AccountService } from "../accounts/service.ts";
import type { Revocations } from "../auth/revocations.ts";
import type { NodeConfig } from "../config.ts";
import { ContactDiscovery } from "../contacts/discovery.ts";
import { KeyService } from "../keys/key-service.ts";
import type { MediaAccess } from "../media/access.ts";
import { registerMediaRoutes } from "../media/http.ts";
import type { PushService } from "../push/service.ts";
import type { StatusService } from "../status/service.ts";
import { LocalRateLimits } from "../storage/local-rate-limits.ts";
import { mediaStagingDir } from "../storage/media/open-media-store.ts";
import type { Backend, BackendHealth } from "../storage/open-stores.ts";
import type { RevocationStore } from "../storage/revocations.ts";
import type { ConnectionRegistry } from "../transport/registry.ts";
import { ConnectionLog } from "../transport/connection-log.ts";
import { startTransport, type RunningTransport } from "../transport/server.ts";
import { SessionProtocol, type SessionDeps } from "../transport/session-protocol.ts";
import type { Logger } from "../util/logger.ts";
import type { Metrics } from "../util/metrics.ts";
import type { NodeActors } from "./actors.ts";
import { demoRoutes } from "./demo.ts";
import type { Readiness } from "./readiness.ts";
import type { NodeCounters } from "./metrics.ts";
import type { ClientLatency } from "../observability/latency.ts";
import type { NodeTracing } from "../observability/tracing.ts";
import type { OutboundEvents } from "../transport/connection.ts";

export interface EdgeParts {
  config: NodeConfig;
  log: Logger;
  secret: string;
  backend: Backend;
  registry: ConnectionRegistry;
  actors: NodeActors;
  push: PushService;
  revocations: Revocations;
  /** Written to by account deletion (its tombstone); `revocations` is this node's copy. */
  revocationStore: RevocationStore;
  media: MediaAccess;
  profiles: ProfileService | undefined;
  accounts: AccountService | undefined;
  status: StatusService;
  metrics: Metrics;
  counters: NodeCounters;
  latency: ClientLatency;
  tracing: NodeTracing | undefined;
  startedAt: number;
  readiness: Readiness;
}

/** What clients reach: the WebSocket sessions and the HTTP routes, listening on the node's port. */
export async function startEdge(parts: EdgeParts): Promise<RunningTransport> {
  const { config, log, registry, counters, backend } = parts;
  const demo = await demoRoutes(parts);
  const { routes, presence } = parts.actors;
  const connectionLog = new ConnectionLog(log.child({ component: "connections" }));
  return startTransport(
    { nodeId: config.nodeId, host: config.host, port: config.port, ...config.limits },
    {
      registry,
      protocol: sessionProtocol(parts, connectionLog),
      connectionLog,
      log: log.child({ component: "transport" }),
      outbound: {
        framesOut: (count) => counters.framesOut(count),
        sending: watchOutbound(parts.latency, parts.tracing),
        droppedEphemeral: () => counters.droppedEphemeral(),
        slowConsumer: () => counters.slowConsumers(),
      },
      onOpen: () => counters.opened(),
      onClose: (connection) => {
        presence.unwatch(connection.ref);
        parts.actors.callService.connectionClosed(connection.ref);
        if (connection.user) routes.users.tell(connection.user, { type: "detach", device: connection.device, conn: connection.ref });
      },
      health: () => ({
        ...storageHealth(backend.health()),
        node: config.nodeId,
        backend: backend.stores.backend,
        uptimeSeconds: Math.round((Date.now() - parts.startedAt) / 1000),
        connections: registry.size,
      }),
      ready: () => parts.readiness.state(),
      metrics: async () => ({ contentType: parts.metrics.contentType, body: await parts.metrics.render() }),
      routes: [...httpRoutes(parts), ...demo],
    },
  );
}

function sessionProtocol(parts: EdgeParts, connectionLog: ConnectionLog): SessionProtocol {
  const { config, log, backend, counters } = parts;
  const { routes, presence } = parts.actors;
  return new SessionProtocol({
    connectionLog,
    secret: parts.secret,
    registry: parts.registry,
    users: routes.users,
    conversations: routes.conversations,
    presence,
    keys: new KeyService({
      store: backend.stores.keys,
      users: routes.users,
      log: log.child({ component: "keys" }),
      rateLimits: backend.rateLimits ?? new LocalRateLimits(),
      claims: { perWindow: config.keys.claimsPerWindow, windowMs: config.keys.claimWindowMs, perTarget: config.keys.claimsPerTargetWindow },
    }),
    push: parts.push,
    discovery: new ContactDiscovery({
      ...(backend.stores.accounts ? { accounts: backend.stores.accounts } : {}),
      rateLimits: backend.rateLimits ?? new LocalRateLimits(),
      dailyBudget: config.contacts.syncPerDay,
      log: log.child({ component: "contacts" }),
    }),
    revocations: parts.revocations,
    chats: new ChatList(backend.stores),
    profiles: parts.profiles,
    deletion: new AccountDeletion({
      nodeId: config.nodeId,
      stores: backend.stores,
      revocations: parts.revocationStore,
      local: parts.revocations,
      conversations: routes.conversations,
      log: log.child({ component: "accounts" }),
    }),
    calls: parts.actors.callService,
    status: parts.status,
    log: log.child({ component: "session" }),
    events: {
      frameIn: () => counters.framesIn(),
      rejected: (code) => counters.rejected(1, { code }),
      received: (connection, frame) => parts.latency.inbound(connection, frame),
      handle: traceInbound(parts.tracing),
    },
  });
}

type FrameHandling = NonNullable<SessionDeps["events"]["handle"]>;

/** With tracing on, each validated frame runs in its span; off, there is no hook at all. */
function traceInbound(tracing: NodeTracing | undefined): FrameHandling | undefined {
  if (!tracing) return undefined;
  return (connection, frame, run) => tracing.request(connection, connection.id, frame, run);
}

/** Each frame out may stop a latency clock and, with tracing on, end its request's span. */
function watchOutbound(latency: ClientLatency, tracing: NodeTracing | undefined): NonNullable<OutboundEvents["sending"]> {
  if (!tracing) return (connection, frame) => latency.outbound(connection, frame);
  return (connection, frame) => {
    latency.outbound(connection, frame);
    tracing.answered(connection, frame);
  };
}

function httpRoutes(parts: EdgeParts): Array<(app: TemplatedApp) => void> {
  const { config, log, accounts, counters } = parts;
  const accountRoutes = accounts
    ? [
        (app: TemplatedApp) =>
          registerAccountRoutes(app, accounts, log.child({ component: "accounts" }), (route, status, error) =>
            counters.accounts(1, { route, status: String(status), ...(error ? { error } : {}) }),
          ),
      ]
    : [];
  return [
    ...accountRoutes,
    (app) =>
      registerMediaRoutes(app, {
        secret: parts.secret,
        access: parts.media,
        maxUploadBytes: config.media.maxUploadBytes,
        stagingDir: mediaStagingDir(config),
        presignTtlSeconds: config.media.presignTtlSeconds,
        revocations: parts.revocations,
        log: log.child({ component: "media" }),
      }),
  ];
}

/** `/healthz` fields for the backend: `degraded` with the reasons while Redis is unreachable. */
function storageHealth(health: BackendHealth): { status: "ok" | "degraded"; reasons?: string[]; redis?: "up" | "down" } {
  return {
    status: health.status,
    ...(health.reasons.length > 0 ? { reasons: health.reasons } : {}),
    ...(health.redis ? { redis: health.redis } : {}),
  };
}
