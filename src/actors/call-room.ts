import type { CallMessage, Party } from "../calls/messages.ts";
import type { CallEndReason, CallIncomingOfferFrame, ServerFrame } from "../protocol/frames.ts";
import type { ClientLink, ConnectionRef, Tell, TellIfActive } from "../seams.ts";
import type { GroupStore } from "../storage/groups.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import { answer, type Refusal } from "./command-result.ts";
import type { CallRecord, CallState } from "./call-state.ts";
import type { ConversationMessage, UserMessage } from "./messages.ts";

export interface CallDeps {
  link: ClientLink;
  users: Tell<UserMessage> & TellIfActive<UserMessage>;
  conversations: Tell<ConversationMessage>;
  groups: Pick<GroupStore, "get">;
  /** This node's directory of calls (the actor's own timeouts). */
  self: Tell<CallMessage>;
  ringTimeoutMs: number;
  maxParticipants: number;
  /** The ring timeout and a call's times read it. */
  clock: Clock;
  /** Wake the callee's devices that are not `connected` (a high-priority push). */
  wake?: (user: string, call: string, caller: string, video: boolean, ttlMs: number, connected: string[]) => void;
  log: Logger;
}

export const sameConn = (a: ConnectionRef, b: ConnectionRef) => a.id === b.id && a.node === b.node;

/**
 * What a call's handler decided about a device's request: a refusal, or its answer (`call.ok`
 * when the request carried an `r`) and the effects that follow. The effects run only once the
 * answer is sent, because some of them reach the asking device too: its `call.end` must come
 * after its `call.ok`, or the gateway's tracker would count the call as open on it again.
 * (`after`, not `then`: an object with a `then` would be taken for a promise when awaited.)
 */
export type CallDecision = Refusal | { ok: true; reply?: ServerFrame; after?: () => void };

/** Accepts a request about `call`, answering `call.ok` if it asked for an answer. */
export function accepted(call: string, r: number | undefined, after?: () => void): CallDecision {
  return { ok: true, ...(r !== undefined ? { reply: { t: "call.ok", r, call } } : {}), ...(after ? { after } : {}) };
}

/** A request that is never answered (`call.ice`, `call.ringing`) and does nothing. */
export const IGNORED: CallDecision = Object.freeze({ ok: true });

/** Answers the request, then runs what the decision says follows it. */
export function settle(link: ClientLink, conn: ConnectionRef, r: number | undefined, decision: CallDecision): void {
  answer(link, { conn, r }, decision);
  if (decision.ok) decision.after?.();
}

/**
 * One call's state with what it takes to act on it: the steps of a call's life (ringing,
 * joining, leaving, ending, its record in the chat) shared by every message the actor handles.
 */
export class CallRoom {
  constructor(
    readonly deps: CallDeps,
    readonly state: CallState,
    readonly call: string,
  ) {}

  send(conn: ConnectionRef, frame: ServerFrame): void {
    this.deps.link.send(conn, frame);
  }

  startRinging(users: string[], offer: CallIncomingOfferFrame): void {
    const { deps, state, call } = this;
    const expiresAt = deps.clock.now() + deps.ringTimeoutMs;
    for (const user of users) {
      state.ringing.set(user, []);
      deps.users.tell(user, { type: "call.ring", call, caller: state.caller!.user, offer, expiresAt });
    }
    state.timer = deps.clock.setTimeout(() => deps.self.tell(call, { type: "timeout" }), deps.ringTimeoutMs);
  }

  join(party: Party): void {
    this.state.participants.set(party.user, party);
    this.state.everJoined.add(party.user);
    this.state.ringing.delete(party.user);
    this.deps.users.tell(party.user, { type: "call.joined", call: this.call });
  }

  /** A device joins a group call; the first to do so makes it active. */
  groupJoined(party: Party): void {
    const { state, call } = this;
    this.join(party);
    if (state.answeredAt === undefined) state.answeredAt = this.deps.clock.now();
    state.phase = "active";
    this.notifyGroup({ t: "call.join", call, group: state.group!, user: party.user, device: party.device, participants: [...state.participants.keys()] });
  }

  /** Stops `user`'s devices ringing (one answered, the user declined, or time ran out). */
  stopRinging(user: string, except: ConnectionRef | undefined, reason: CallEndReason | "answered_elsewhere"): void {
    for (const { conn } of this.state.ringing.get(user) ?? []) {
      if (except && sameConn(conn, except)) continue;
      this.send(conn, reason === "answered_elsewhere" ? { t: "call.answered_elsewhere", call: this.call } : { t: "call.end", call: this.call, reason });
    }
    this.state.ringing.delete(user);
  }

  /** Stops every ringing user's devices; each user is free for other calls again. */
  stopAllRinging(reason: CallEndReason): void {
    for (const user of [...this.state.ringing.keys()]) {
      this.stopRinging(user, undefined, reason);
      this.deps.users.tell(user, { type: "call.over", call: this.call });
    }
  }

  isRinging(device: Party): boolean {
    return (this.state.ringing.get(device.user) ?? []).some((rung) => sameConn(rung.conn, device.conn));
  }

  /** Who a frame within the call is for: `to` in a group call, the other side in a 1:1 call. */
  peer(from: Party, to: string | undefined): Party | undefined {
    if (to !== undefined) return to === from.user ? undefined : this.state.participants.get(to);
    if (this.state.group) return undefined;
    return [...this.state.participants.values()].find((party) => party.user !== from.user);
  }

  notifyGroup(frame: Extract<ServerFrame, { t: "call.join" | "call.leave" }>): void {
    for (const member of this.state.members) this.deps.users.tellIfActive(member, { type: "call.event", frame });
  }

  /** A participant leaves: a 1:1 call ends; a group call ends once nobody else is in or ringing. */
  leave(user: string): void {
    const { state, call } = this;
    if (!state.group) return this.end(state.answeredAt === undefined ? "missed" : "hangup", user);
    const party = state.participants.get(user)!;
    state.participants.delete(user);
    this.send(party.conn, { t: "call.end", call, reason: "hangup", by: user });
    this.deps.users.tell(user, { type: "call.over", call });
    this.notifyGroup({ t: "call.leave", call, group: state.group, user, participants: [...state.participants.keys()] });
    if (state.participants.size === 0 || (state.participants.size === 1 && state.ringing.size === 0)) this.end("hangup");
  }

  /** A ringing device turns the call down (or its user is busy): a 1:1 call ends. */
  declined(from: Party, reason: "busy" | "declined"): void {
    const { state } = this;
    if (!state.group) return this.end(reason, from.user);
    this.stopRinging(from.user, from.conn, "declined");
    this.deps.users.tell(from.user, { type: "call.over", call: this.call });
    if (state.ringing.size === 0 && state.participants.size <= 1) this.end(state.answeredAt === undefined ? "declined" : "hangup");
  }

  end(reason: CallEndReason, by?: string): void {
    const { state, call } = this;
    if (state.phase === "ended") return;
    const duration = state.answeredAt === undefined ? undefined : this.deps.clock.now() - state.answeredAt;
    const frame: ServerFrame = { t: "call.end", call, reason, ...(by ? { by } : {}), ...(duration !== undefined ? { duration } : {}) };
    for (const party of state.participants.values()) this.send(party.conn, frame);
    this.stopAllRinging(reason);
    for (const user of state.everJoined) this.deps.users.tell(user, { type: "call.over", call });
    if (state.group) {
      for (const user of state.participants.keys()) this.notifyGroup({ t: "call.leave", call, group: state.group, user, participants: [] });
    }
    state.participants.clear();
    state.timer?.cancel();
    state.phase = "ended";
    this.record(reason, duration);
  }

  /** Writes the call's record into its chat, once per call (its `cid` says which call). */
  private record(reason: CallEndReason, duration: number | undefined): void {
    const { state, call } = this;
    const caller = state.caller!;
    const outcome: CallRecord["outcome"] =
      state.answeredAt !== undefined ? "answered" : reason === "declined" ? "declined" : reason === "busy" ? "busy" : "missed";
    const body: CallRecord = { call, video: state.video, caller: caller.user, outcome, started: state.startedAt };
    if (duration !== undefined) body.duration = duration;
    if (state.group) body.participants = [...state.everJoined];
    this.deps.conversations.tell(state.chat, { type: "record", from: caller.user, kind: "call", body: JSON.stringify(body), cid: `call:${call}` });
  }
}
