import { StorageUnavailableError } from "../storage/errors.ts";
import type { PrivacySettings } from "../storage/privacy.ts";
import type { UserCallDeps } from "../calls/user-calls.ts";
import { refuse, replied, type CommandResult } from "./command-result.ts";
import { blocksOf, type ContactListDeps } from "./contact-lists.ts";
import type { PrivacyRequest } from "./messages.ts";
import { presenceShown, type PresenceShown } from "./presence-hub.ts";
import type { UserDeps, UserState } from "./user-state.ts";

/** What contact-lists.ts needs of the user's actor. */
export function listDeps(deps: UserDeps): ContactListDeps {
  return { stores: deps.stores, link: deps.link, conversations: deps.conversations, limits: deps.contactLimits, log: deps.log };
}

/** What the user's settings show watchers; undefined when they cannot be read now (the hub keeps what it knew). */
export async function shownBy(deps: UserDeps, state: UserState, user: string): Promise<PresenceShown | undefined> {
  try {
    state.privacy ??= await deps.stores.privacy.settings(user);
  } catch (error) {
    deps.log.warn({ err: error, user }, "privacy settings read failed");
    return undefined;
  }
  return presenceShown(state.privacy, state.relations);
}

/** After a contacts or blocks change: watchers everywhere read their relation to the user again. */
export async function relationsChanged(deps: UserDeps, state: UserState, user: string): Promise<void> {
  state.relations = Math.max(Date.now(), (state.relations ?? 0) + 1);
  const shown = await shownBy(deps, state, user);
  if (shown) deps.presence.privacyChanged(user, shown);
}

/** The answer to a privacy request, and what watchers are to be shown when it changed that. */
export async function onPrivacy(deps: UserDeps, state: UserState, user: string, request: PrivacyRequest): Promise<{ result: CommandResult; shown?: PresenceShown }> {
  const { replyTo } = request;
  try {
    const current = state.privacy ?? (await deps.stores.privacy.settings(user));
    const next: PrivacySettings = { ...current, ...request.changes };
    const changed = next.lastSeen !== current.lastSeen || next.online !== current.online || next.groups !== current.groups || next.profile !== current.profile;
    // Saved before it is answered or acted on: what the user was told holds after a restart.
    if (changed) await deps.stores.privacy.setSettings(user, next);
    state.privacy = next;
    const result = replied({ t: "privacy", r: replyTo.r, last_seen: next.lastSeen, online: next.online, groups: next.groups, profile: next.profile });
    if (next.lastSeen !== current.lastSeen || next.online !== current.online) return { result, shown: presenceShown(next, state.relations) };
    return { result };
  } catch (error) {
    // Not a crash: restarting the actor would close every device of the user for one setting.
    const unavailable = error instanceof StorageUnavailableError;
    deps.log[unavailable ? "warn" : "error"]({ err: error, user }, "privacy settings failed");
    return { result: refuse(unavailable ? "unavailable" : "internal", "privacy settings failed; retry") };
  }
}

/**
 * The calls hook answered from the user's own block list (this actor keeps it): a blocked
 * caller hears `busy`, as when the user is in another call. Any hook the node was given
 * (tests) is asked too. A list that cannot be read lets the call ring: a missed call is
 * worse than a ring from someone blocked, and the next ring asks again.
 */
export function withBlocks(deps: UserDeps, calls: UserCallDeps, state: UserState, user: string): UserCallDeps {
  return {
    ...calls,
    hooks: {
      callerBlocked: async (callee, caller) => {
        try {
          if ((await blocksOf(listDeps(deps), state, user)).has(caller)) return true;
        } catch (error) {
          deps.log.warn({ err: error, user }, "block list read failed; the call rings");
        }
        return calls.hooks.callerBlocked(callee, caller);
      },
    },
  };
}
