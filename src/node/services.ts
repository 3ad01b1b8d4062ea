import type { SmsSenderKind } from "../config/signup.ts";
import { AccountService } from "../accounts/service.ts";
import { openSmsSender } from "../accounts/sms/open.ts";
import { Revocations } from "../auth/revocations.ts";
import type { NodeConfig } from "../config.ts";
import { CLOSE_CODES } from "../protocol/frames.ts";
import type { PushEvent } from "../push/scheduler.ts";
import { PushService } from "../push/service.ts";
import { openRevocationStore } from "../storage/open-revocations.ts";
import type { Backend } from "../storage/open-stores.ts";
import type { RevocationStore } from "../storage/revocations.ts";
import { LocalRateLimits } from "../storage/local-rate-limits.ts";
import type { ConnectionRegistry } from "../transport/registry.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import type { NodeCounters } from "./metrics.ts";
import type { Shutdown } from "./shutdown.ts";

/** Push notifications for devices that do not ack in time; every decision counted and observed. */
export function startPush(
  config: NodeConfig,
  backend: Backend,
  counters: NodeCounters,
  clock: Clock,
  log: Logger,
  shutdown: Shutdown,
  observer?: (event: PushEvent) => void,
): PushService {
  const push = new PushService({
    config: config.push,
    clock,
    store: backend.stores.push,
    cursors: backend.stores.cursors,
    log: log.child({ component: "push" }),
    observe: (event) => {
      counters.push(1, { outcome: event.type === "skipped" ? event.reason : event.type });
      observer?.(event);
    },
  });
  shutdown.add({ name: "stop push", run: () => push.stop() });
  return push;
}

/**
 * `router token revoke`: each node closes its own connections running on a revoked token.
 * On the cluster backend it shares the node's Redis connection, so an outage is one outage.
 */
export async function startRevocations(
  config: NodeConfig,
  backend: Backend,
  registry: ConnectionRegistry,
  log: Logger,
  shutdown: Shutdown,
): Promise<{ revocations: Revocations; store: RevocationStore }> {
  const store = backend.revocations ?? (await openRevocationStore(config, log));
  if (!backend.revocations) shutdown.add({ name: "close revocation store", run: () => store.close() });
  const revocationLog = log.child({ component: "revocations" });
  const revocations = new Revocations(store, revocationLog, (revoked) => {
    let closed = 0;
    for (const connection of registry.ofUser(revoked.user)) {
      if ((revoked.device === undefined || revoked.device === connection.device) && connection.tokenIssuedAt <= revoked.at) {
        connection.close(CLOSE_CODES.unauthorized, "token revoked");
        closed += 1;
      }
    }
    if (closed > 0) revocationLog.info({ user: revoked.user, device: revoked.device, closed }, "connections on revoked tokens closed");
  });
  await revocations.start();
  shutdown.add({ name: "stop revocations", run: () => revocations.stop() });
  return { revocations, store };
}

/** Sign-up and refresh, when the backend keeps accounts. */
export function accountService(
  config: NodeConfig,
  parts: { backend: Backend; clock: Clock; secret: string; smsSender: SmsSenderKind | undefined; registry: ConnectionRegistry; revocationStore: RevocationStore; log: Logger },
): AccountService | undefined {
  const { backend, registry, revocationStore, log } = parts;
  if (!backend.stores.accounts) return undefined;
  return new AccountService({
    store: backend.stores.accounts,
    ...(parts.smsSender ? { sender: openSmsSender(parts.smsSender, config.signup, log.child({ component: "sms" })) } : {}),
    rateLimits: backend.rateLimits ?? new LocalRateLimits(),
    secret: parts.secret,
    config: config.signup,
    clock: parts.clock,
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
  });
}

/**
 * A refresh token of this device was used twice (AccountHooks.onDeviceCompromised); its
 * refresh family is revoked in the store already. Here: its live sockets on this node close
 * with 4001.
 */
function closeDeviceSockets(registry: ConnectionRegistry, user: string, device: string): void {
  for (const connection of [...registry.all()]) {
    if (connection.user === user && connection.device === device) {
      connection.close(CLOSE_CODES.unauthorized, "device signed out: its refresh token was used twice");
    }
  }
}
