import type { ClientLink, ConnectionRef, Tell } from "../seams.ts";
import type { CallIncomingOfferFrame } from "../protocol/frames.ts";
import { callOwner } from "./call-id.ts";
import type { CallMessage, UserCallMessage } from "./messages.ts";

/**
 * Where features decide whether a call may ring. Blocking plugs in at `callerBlocked`: the
 * callee's UserActor asks it before ringing, and a blocked caller hears `busy`, exactly as
 * when the callee is in another call, so the caller learns nothing more.
 */
export interface CallHooks {
  callerBlocked(callee: string, caller: string): Promise<boolean> | boolean;
}

/** No reason besides the callee's block list, which their UserActor asks itself (user-actor.ts). */
export const NO_CALL_BLOCKING: CallHooks = { callerBlocked: () => false };

/** The calls side of one user's actor state. */
export class UserCalls {
  /** Calls the user takes part in (started or answered): another call finds them busy. */
  readonly joined = new Set<string>();
  /** Offers ringing this user, handed to devices that connect before they expire. */
  readonly ringing = new Map<string, { offer: CallIncomingOfferFrame; expiresAt: number }>();

  /** An offer is held for a device to connect: the actor must not be passivated meanwhile. */
  ringingNow(now: number): boolean {
    for (const { expiresAt } of this.ringing.values()) if (expiresAt > now) return true;
    return false;
  }
}

export interface UserCallDeps {
  link: ClientLink;
  calls: Tell<CallMessage>;
  hooks: CallHooks;
  /** Whether a node is still in the cluster: a call whose node died is over, though no one said so. */
  alive(node: string): boolean;
}

export async function onUserCallMessage(
  deps: UserCallDeps,
  calls: UserCalls,
  sessions: ReadonlyMap<string, { conn: ConnectionRef }>,
  user: string,
  message: UserCallMessage,
): Promise<void> {
  switch (message.type) {
    case "call.ring": {
      for (const call of calls.joined) if (!deps.alive(callOwner(call))) calls.joined.delete(call);
      const inAnotherCall = [...calls.joined].some((call) => call !== message.call);
      if (inAnotherCall || (await deps.hooks.callerBlocked(user, message.caller))) {
        deps.calls.tell(message.call, { type: "busy", user });
        return;
      }
      calls.ringing.set(message.call, { offer: message.offer, expiresAt: message.expiresAt });
      const devices = [...sessions].map(([device, session]) => ({ device, conn: session.conn }));
      for (const { conn } of devices) deps.link.send(conn, message.offer);
      deps.calls.tell(message.call, { type: "rung", user, devices, first: true });
      return;
    }
    case "call.joined":
      calls.ringing.delete(message.call);
      calls.joined.add(message.call);
      return;
    case "call.over":
      calls.ringing.delete(message.call);
      calls.joined.delete(message.call);
      return;
    case "call.event":
      for (const session of sessions.values()) deps.link.send(session.conn, message.frame);
      return;
  }
}

/** A device connected: it rings for every call still ringing this user (a push may have woken it). */
export function onCallDeviceAttached(deps: UserCallDeps, calls: UserCalls, user: string, device: string, conn: ConnectionRef, now: number): void {
  for (const [call, { offer, expiresAt }] of calls.ringing) {
    // Expired, or its node died (and with it whoever would have said the call is over).
    if (expiresAt <= now || !deps.alive(callOwner(call))) {
      calls.ringing.delete(call);
      continue;
    }
    deps.link.send(conn, offer);
    deps.calls.tell(call, { type: "rung", user, devices: [{ device, conn }], first: false });
  }
}
