import type { NodeConfig } from "../config.ts";
import type { MediaAccess } from "../media/access.ts";
import { NO_STATUS_HIDING, StatusService, type StatusHooks } from "../status/service.ts";
import { hideFromBlocked } from "../actors/blocking.ts";
import { LocalRateLimits } from "../storage/local-rate-limits.ts";
import type { Backend } from "../storage/open-stores.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import type { Metrics } from "../util/metrics.ts";
import type { NodeActors } from "./actors.ts";
import type { Shutdown } from "./shutdown.ts";

/** Statuses: the service sessions hand `status.*` frames to, its media readers, and its expiry sweep. */
export function startStatus(parts: {
  config: NodeConfig;
  log: Logger;
  clock: Clock;
  backend: Backend;
  actors: NodeActors;
  media: MediaAccess;
  metrics: Metrics;
  hooks: StatusHooks | undefined;
  shutdown: Shutdown;
}): StatusService {
  const { config, log, backend, actors, media } = parts;
  const status = new StatusService({
    store: backend.stores.status,
    clock: parts.clock,
    users: actors.routes.users,
    online: backend.online,
    rateLimits: backend.rateLimits ?? new LocalRateLimits(),
    messages: backend.stores.messages,
    groups: backend.stores.groups,
    media,
    settings: config.status,
    hooks: hideFromBlocked(backend.stores.blocks, parts.hooks ?? NO_STATUS_HIDING),
    log: log.child({ component: "status" }),
  });
  media.statusReader = (user, chat) => status.mayReadMedia(user, chat);
  // Every node runs the timer; in a cluster only the ring's owner of "status-sweep" sweeps (the
  // sweep is idempotent, so a ring change that briefly gives two owners does no harm).
  const swept = parts.metrics.counter("router_status_swept_total", "Expired statuses removed by the sweep");
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping || !ownsSweep()) return;
    sweeping = true;
    status
      .sweep()
      .then((removed) => {
        if (removed > 0) swept(removed);
      })
      .catch((error: unknown) => log.warn({ err: error }, "status sweep failed"))
      .finally(() => (sweeping = false));
  }, config.status.sweepIntervalMs);
  timer.unref();
  parts.shutdown.add({ name: "stop status sweep", run: () => clearInterval(timer) });
  return status;

  function ownsSweep(): boolean {
    return (actors.cluster?.dispatch.ownerOf("status-sweep") ?? config.nodeId) === config.nodeId;
  }
}
