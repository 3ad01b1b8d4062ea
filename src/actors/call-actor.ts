import type { CallMessage, CallSignal, CallStart, Party, RungDevice } from "../calls/messages.ts";
import { directChatId, type CallEndReason, type CallIncomingOfferFrame, type ErrorCode, type ServerFrame } from "../protocol/frames.ts";
import type { ClientLink, ConnectionRef, Tell, TellIfActive } from "../seams.ts";
import type { GroupStore } from "../storage/groups.ts";
import type { Clock, Timer } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import type { ActorBehaviour } from "./directory.ts";
import type { ConversationMessage, UserMessage } from "./messages.ts";

/** What a call's record in its chat says, as JSON in the body of a `kind: "call"` message. */
export interface CallRecord {
  call: string;
  video: boolean;
  caller: string;
  /** `answered`, or why it never was: `missed`, `declined`, `busy`. */
  outcome: "answered" | "missed" | "declined" | "busy";
  /** When the call started (ms since the epoch). */
  started: number;
  /** From answer to end, in ms, when answered. */
  duration?: number;
  /** Group calls: who took part. */
  participants?: string[];
}

/** Caller ICE candidates sent before the answer, held for the device that answers. */
const MAX_EARLY_CANDIDATES = 64;

export class CallState {
  phase: "new" | "ringing" | "active" | "ended" = "new";
  chat = "";
  group: string | undefined;
  /** Group calls: who may join (the group's members when it started). */
  members: readonly string[] = [];
  video = false;
  caller: Party | undefined;
  startedAt = 0;
  answeredAt: number | undefined;
  /** The device each joined user takes part from, the caller first. */
  readonly participants = new Map<string, Party>();
  /** Everyone who took part at some point (for the record). */
  readonly everJoined = new Set<string>();
  /** Users rung and not yet joined, declined or timed out; with the devices ringing. */
  readonly ringing = new Map<string, RungDevice[]>();
  earlyCandidates: string[] = [];
  timer: Timer | undefined;
}

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

const sameConn = (a: ConnectionRef, b: ConnectionRef) => a.id === b.id && a.node === b.node;

/**
 * One call: who is in it, which devices ring, and where each device's frames go. It lives on
 * the node its id names (chosen by the ring when the call starts) and keeps its state in
 * memory only: a call is as short-lived as its participants' attention. Frames of one
 * device pass through this one mailbox, so they reach the other devices in the order sent.
 */
export function callBehaviour(deps: CallDeps): ActorBehaviour<CallMessage, CallState> {
  function send(conn: ConnectionRef, frame: ServerFrame): void {
    deps.link.send(conn, frame);
  }

  function fail(conn: ConnectionRef, r: number | undefined, code: ErrorCode, msg: string): void {
    send(conn, { t: "err", r, code, msg });
  }

  function ok(conn: ConnectionRef, r: number | undefined, call: string): void {
    if (r !== undefined) send(conn, { t: "call.ok", r, call });
  }

  function startRinging(state: CallState, call: string, users: string[], offer: CallIncomingOfferFrame): void {
    const expiresAt = deps.clock.now() + deps.ringTimeoutMs;
    for (const user of users) {
      state.ringing.set(user, []);
      deps.users.tell(user, { type: "call.ring", call, caller: state.caller!.user, offer, expiresAt });
    }
    state.timer = deps.clock.setTimeout(() => deps.self.tell(call, { type: "timeout" }), deps.ringTimeoutMs);
  }

  async function onStart(state: CallState, call: string, start: CallStart): Promise<void> {
    const { caller } = start;
    if (state.phase !== "new") return fail(caller.conn, start.r, "conflict", "this call id is taken");
    let callees: string[];
    if (start.group !== undefined) {
      const group = await deps.groups.get(start.group);
      if (!group || !group.members.includes(caller.user)) return fail(caller.conn, start.r, "forbidden", `not a member of ${start.group}`);
      if (group.members.length > deps.maxParticipants) {
        return fail(caller.conn, start.r, "limit_exceeded", `group calls take at most ${deps.maxParticipants} participants; this group has ${group.members.length} members`);
      }
      state.group = start.group;
      state.chat = start.group;
      state.members = group.members;
      callees = group.members.filter((member) => member !== caller.user);
    } else {
      if (start.to === caller.user) return fail(caller.conn, start.r, "invalid_field", "a call needs someone else to call");
      state.chat = directChatId(caller.user, start.to!);
      callees = [start.to!];
    }
    state.phase = "ringing";
    state.video = start.video;
    state.caller = caller;
    state.startedAt = deps.clock.now();
    join(state, call, caller);
    ok(caller.conn, start.r, call);
    // A group call's ring carries no session description: in a mesh each joiner offers to
    // every participant (one negotiation per pair), so there is nothing to answer yet.
    const offer: CallIncomingOfferFrame = state.group
      ? { t: "call.offer", call, from: caller.user, device: caller.device, video: start.video, group: state.group }
      : { t: "call.offer", call, from: caller.user, device: caller.device, video: start.video, sdp: start.sdp };
    if (state.group) notifyGroup(state, call, { t: "call.join", call, group: state.group, user: caller.user, device: caller.device, participants: [caller.user] });
    startRinging(state, call, callees, offer);
  }

  function join(state: CallState, call: string, party: Party): void {
    state.participants.set(party.user, party);
    state.everJoined.add(party.user);
    state.ringing.delete(party.user);
    deps.users.tell(party.user, { type: "call.joined", call });
  }

  /** Stops `user`'s devices ringing (one answered, the user declined, or time ran out). */
  function stopRinging(state: CallState, call: string, user: string, except: ConnectionRef | undefined, reason: CallEndReason | "answered_elsewhere"): void {
    for (const { conn } of state.ringing.get(user) ?? []) {
      if (except && sameConn(conn, except)) continue;
      send(conn, reason === "answered_elsewhere" ? { t: "call.answered_elsewhere", call } : { t: "call.end", call, reason });
    }
    state.ringing.delete(user);
  }

  function end(state: CallState, call: string, reason: CallEndReason, by?: string): void {
    if (state.phase === "ended") return;
    const now = deps.clock.now();
    const duration = state.answeredAt === undefined ? undefined : now - state.answeredAt;
    const frame: ServerFrame = { t: "call.end", call, reason, ...(by ? { by } : {}), ...(duration !== undefined ? { duration } : {}) };
    for (const party of state.participants.values()) send(party.conn, frame);
    for (const user of [...state.ringing.keys()]) {
      stopRinging(state, call, user, undefined, reason);
      deps.users.tell(user, { type: "call.over", call });
    }
    for (const user of state.everJoined) deps.users.tell(user, { type: "call.over", call });
    if (state.group) {
      for (const user of state.participants.keys()) notifyGroup(state, call, { t: "call.leave", call, group: state.group, user, participants: [] });
    }
    state.participants.clear();
    state.timer?.cancel();
    state.phase = "ended";
    record(state, call, reason, duration);
  }

  function record(state: CallState, call: string, reason: CallEndReason, duration: number | undefined): void {
    const caller = state.caller!;
    const outcome: CallRecord["outcome"] =
      state.answeredAt !== undefined ? "answered" : reason === "declined" ? "declined" : reason === "busy" ? "busy" : "missed";
    const body: CallRecord = { call, video: state.video, caller: caller.user, outcome, started: state.startedAt };
    if (duration !== undefined) body.duration = duration;
    if (state.group) body.participants = [...state.everJoined];
    deps.conversations.tell(state.chat, { type: "record", from: caller.user, kind: "call", body: JSON.stringify(body), cid: `call:${call}` });
  }

  function notifyGroup(state: CallState, call: string, frame: Extract<ServerFrame, { t: "call.join" | "call.leave" }>): void {
    for (const member of state.members) deps.users.tellIfActive(member, { type: "call.event", frame });
  }

  function groupJoined(state: CallState, call: string, party: Party): void {
    join(state, call, party);
    if (state.answeredAt === undefined) state.answeredAt = deps.clock.now();
    state.phase = "active";
    notifyGroup(state, call, { t: "call.join", call, group: state.group!, user: party.user, device: party.device, participants: [...state.participants.keys()] });
  }

  /** A participant leaves: a 1:1 call ends; a group call ends once nobody else is in or ringing. */
  function leave(state: CallState, call: string, user: string): void {
    if (!state.group) return end(state, call, state.answeredAt === undefined ? "missed" : "hangup", user);
    const party = state.participants.get(user)!;
    state.participants.delete(user);
    send(party.conn, { t: "call.end", call, reason: "hangup", by: user });
    deps.users.tell(user, { type: "call.over", call });
    notifyGroup(state, call, { t: "call.leave", call, group: state.group, user, participants: [...state.participants.keys()] });
    if (state.participants.size === 0 || (state.participants.size === 1 && state.ringing.size === 0)) end(state, call, "hangup");
  }

  function ringingDevice(state: CallState, from: Party): boolean {
    return (state.ringing.get(from.user) ?? []).some((device) => sameConn(device.conn, from.conn));
  }

  function onSignal(state: CallState, call: string, signal: CallSignal): void {
    const { from, frame } = signal;
    const r = "r" in frame ? frame.r : undefined;
    const participant = state.participants.get(from.user);
    const isParticipant = participant !== undefined && sameConn(participant.conn, from.conn);
    const isRinging = !isParticipant && ringingDevice(state, from);
    const isMember = state.group !== undefined && state.members.includes(from.user);
    if (state.phase === "new" || state.phase === "ended" || (!isParticipant && !isRinging && !(frame.t === "call.join" && isMember))) {
      // Unknown, over, or not this device's: the same answer, so ids cannot be probed.
      if (frame.t !== "call.ice") fail(from.conn, r, "not_found", "no such call, or it is over");
      return;
    }
    switch (frame.t) {
      case "call.ringing":
        if (isRinging) send(state.caller!.conn, { t: "call.ringing", call, user: from.user, device: from.device });
        return;
      case "call.answer": {
        if (isRinging && state.group) return fail(from.conn, r, "conflict", "join a group call with call.join, then offer to each participant");
        if (isRinging) {
          // The first device to answer wins; the user's other devices stop ringing.
          stopRinging(state, call, from.user, from.conn, "answered_elsewhere");
          join(state, call, from);
          state.phase = "active";
          state.answeredAt = deps.clock.now();
          state.timer?.cancel();
          send(state.caller!.conn, { t: "call.answer", call, from: from.user, device: from.device, sdp: frame.sdp });
          ok(from.conn, r, call);
          for (const candidate of state.earlyCandidates) {
            send(from.conn, { t: "call.ice", call, from: state.caller!.user, device: state.caller!.device, candidate });
          }
          state.earlyCandidates = [];
          return;
        }
        const target = peer(state, from, frame.to);
        if (!target) return fail(from.conn, r, "not_found", "nobody by that name in this call");
        send(target.conn, { t: "call.answer", call, from: from.user, device: from.device, sdp: frame.sdp });
        ok(from.conn, r, call);
        return;
      }
      case "call.offer": {
        if (!isParticipant) return fail(from.conn, r, "not_found", "answer or join the call first");
        const target = peer(state, from, frame.to);
        if (!target) return fail(from.conn, r, "not_found", "nobody by that name in this call");
        const offer: CallIncomingOfferFrame = { t: "call.offer", call, from: from.user, device: from.device, video: frame.video, sdp: frame.sdp };
        if (state.group) offer.group = state.group;
        send(target.conn, offer);
        ok(from.conn, r, call);
        return;
      }
      case "call.ice": {
        if (!isParticipant) return;
        if (state.phase === "ringing" && !state.group) {
          if (state.earlyCandidates.length < MAX_EARLY_CANDIDATES) state.earlyCandidates.push(frame.candidate);
          return;
        }
        const target = peer(state, from, frame.to);
        if (target) send(target.conn, { t: "call.ice", call, from: from.user, device: from.device, candidate: frame.candidate });
        return;
      }
      case "call.reject":
        if (!isRinging) return fail(from.conn, r, "conflict", "only a ringing device can reject");
        ok(from.conn, r, call);
        return declined(state, call, from, frame.reason);
      case "call.end":
        ok(from.conn, r, call);
        if (isRinging) return declined(state, call, from, "declined");
        return leave(state, call, from.user);
      case "call.join": {
        if (!state.group) return fail(from.conn, r, "not_found", "only group calls can be joined");
        if (isParticipant || state.participants.has(from.user)) return fail(from.conn, r, "conflict", "already in this call");
        if (state.participants.size >= deps.maxParticipants) return fail(from.conn, r, "limit_exceeded", `a call takes at most ${deps.maxParticipants} participants`);
        stopRinging(state, call, from.user, from.conn, "answered_elsewhere");
        groupJoined(state, call, from);
        ok(from.conn, r, call);
        return;
      }
    }
  }

  /** Who a frame within the call is for: `to` in a group call, the other side in a 1:1 call. */
  function peer(state: CallState, from: Party, to: string | undefined): Party | undefined {
    if (to !== undefined) return to === from.user ? undefined : state.participants.get(to);
    if (state.group) return undefined;
    return [...state.participants.values()].find((party) => party.user !== from.user);
  }

  function declined(state: CallState, call: string, from: Party, reason: "busy" | "declined"): void {
    if (!state.group) return end(state, call, reason, from.user);
    stopRinging(state, call, from.user, from.conn, "declined");
    deps.users.tell(from.user, { type: "call.over", call });
    if (state.ringing.size === 0 && state.participants.size <= 1) end(state, call, state.answeredAt === undefined ? "declined" : "hangup");
  }

  function onTimeout(state: CallState, call: string): void {
    if (state.phase === "ended") return;
    for (const user of [...state.ringing.keys()]) {
      stopRinging(state, call, user, undefined, "missed");
      deps.users.tell(user, { type: "call.over", call });
    }
    if (state.phase === "ringing" || state.participants.size <= 1) end(state, call, "missed");
  }

  return {
    initialState: () => new CallState(),
    async handle(state, message, call) {
      switch (message.type) {
        case "start":
          await onStart(state, call, message);
          break;
        case "signal":
          onSignal(state, call, message);
          break;
        case "rung": {
          const devices = state.ringing.get(message.user);
          if (state.phase === "ended" || !devices) {
            // Rung after the call stopped ringing them: stop those devices again.
            for (const { conn } of message.devices) {
              if (state.participants.has(message.user)) send(conn, { t: "call.answered_elsewhere", call });
              else send(conn, { t: "call.end", call, reason: state.answeredAt === undefined ? "missed" : "hangup" });
            }
            break;
          }
          devices.push(...message.devices);
          // Registered devices that are not connected are woken to ring too (all of them when none is).
          if (message.first) deps.wake?.(message.user, call, state.caller!.user, state.video, deps.ringTimeoutMs, message.devices.map((d) => d.device));
          break;
        }
        case "busy":
          if (state.phase === "ended" || !state.ringing.has(message.user)) break;
          if (!state.group) {
            end(state, call, "busy");
          } else {
            state.ringing.delete(message.user);
            if (state.ringing.size === 0 && state.participants.size <= 1) end(state, call, "busy");
          }
          break;
        case "disconnected": {
          if (state.phase === "new" || state.phase === "ended") break;
          const party = [...state.participants.values()].find((p) => sameConn(p.conn, message.conn));
          if (party) {
            leave(state, call, party.user);
            break;
          }
          for (const [user, devices] of state.ringing) state.ringing.set(user, devices.filter((d) => !sameConn(d.conn, message.conn)));
          break;
        }
        case "timeout":
          onTimeout(state, call);
          break;
      }
      return state;
    },
    keepAlive: (state) => state.phase === "ringing" || state.phase === "active",
    answerCrash(message) {
      if (message.type === "start") fail(message.caller.conn, message.r, "internal", "the call failed; try again");
      if (message.type === "signal" && "r" in message.frame) fail(message.from.conn, message.frame.r, "internal", "the call failed handling this");
    },
  };
}
