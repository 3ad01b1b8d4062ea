import type { ActorSystemRef } from "nact";
import { ActorDirectory, type DirectoryEvents } from "../actors/directory.ts";
import type { ConversationMessage, UserMessage } from "../actors/messages.ts";
import type { ClientLink, Tell, TellIfActive } from "../seams.ts";
import { callBehaviour } from "../actors/call-actor.ts";
import type { CallState } from "../actors/call-state.ts";
import type { CallMessage } from "../calls/messages.ts";
import { CallService, type CallTracker } from "../calls/service.ts";
import { turnUrls } from "../calls/turn.ts";
import type { CallHooks, UserCallDeps } from "../calls/user-calls.ts";
import type { ClusterNode } from "../cluster/cluster-node.ts";
import type { NodeConfig } from "../config.ts";
import type { PushService } from "../push/service.ts";
import type { GroupStore } from "../storage/groups.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";

interface CallRoutes {
  users: Tell<UserMessage> & TellIfActive<UserMessage>;
  conversations: Tell<ConversationMessage>;
  calls: Tell<CallMessage>;
  link: ClientLink;
}

/** Where calls live: on the node that placed them (its id is in the call's), alive while it is a member. */
function callPlacement(config: NodeConfig, cluster: ClusterNode | undefined) {
  return {
    self: config.nodeId,
    members: () => cluster?.members() ?? [config.nodeId],
    ownerOf: (key: string) => cluster?.dispatch.ownerOf(key) ?? config.nodeId,
  };
}

/** What a user's actor needs to ring its devices and hear of calls whose node died. */
export function userCallDeps(config: NodeConfig, cluster: ClusterNode | undefined, routes: CallRoutes, hooks: CallHooks): UserCallDeps {
  const placement = callPlacement(config, cluster);
  return {
    link: routes.link,
    calls: routes.calls,
    hooks,
    alive: (node) => node === config.nodeId || placement.members().includes(node),
  };
}

/** The calls this node holds, and the service sessions hand `call.*` frames to. */
export function startCalls(parts: {
  config: NodeConfig;
  log: Logger;
  system: ActorSystemRef;
  clock: Clock;
  cluster: ClusterNode | undefined;
  routes: CallRoutes;
  groups: Pick<GroupStore, "get">;
  push: PushService;
  tracker: CallTracker;
  events: DirectoryEvents;
}): { calls: ActorDirectory<CallMessage, CallState>; service: CallService } {
  const { config, log, routes, push } = parts;
  const calls = new ActorDirectory<CallMessage, CallState>(
    parts.system,
    "calls",
    (self) =>
      callBehaviour({
        link: routes.link,
        users: routes.users,
        conversations: routes.conversations,
        groups: parts.groups,
        self,
        ringTimeoutMs: config.calls.ringTimeoutMs,
        maxParticipants: config.calls.maxParticipants,
        clock: parts.clock,
        wake: (user, call, caller, video, ttlMs, connected) => void push.ringCall(user, { call, from: caller, video, ttlMs }, connected),
        log: log.child({ component: "call" }),
      }),
    config.actors,
    log.child({ component: "calls" }),
    parts.events,
  );
  const service = new CallService(
    {
      link: routes.link,
      calls: routes.calls,
      placement: callPlacement(config, parts.cluster),
      turn: config.calls.turn.secret
        ? { secret: config.calls.turn.secret, urls: turnUrls(config.calls.turn.urls), ttlSeconds: config.calls.turn.ttlSeconds }
        : undefined,
      log: log.child({ component: "calls" }),
    },
    parts.tracker,
  );
  return { calls, service };
}
