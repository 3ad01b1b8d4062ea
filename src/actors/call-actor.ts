import type { CallBusy, CallDisconnected, CallMessage, CallRung, CallStart } from "../calls/messages.ts";
import { directChatId, type CallIncomingOfferFrame } from "../protocol/frames.ts";
import { refuse, type Refusal } from "./command-result.ts";
import { CallState } from "./call-state.ts";
import { accepted, CallRoom, sameConn, settle, type CallDecision, type CallDeps } from "./call-room.ts";
import { decideSignal } from "./call-signals.ts";
import type { ActorBehaviour } from "./directory.ts";

/**
 * One call: who is in it, which devices ring, and where each device's frames go. It lives on
 * the node its id names (chosen by the ring when the call starts) and keeps its state in
 * memory only: a call is as short-lived as its participants' attention. Frames of one
 * device pass through this one mailbox, so they reach the other devices in the order sent.
 *
 * A device's request is decided (`CallDecision`) and answered in one place (`settle`); what
 * the call tells other devices goes through the `ClientLink` as it happens.
 */
export function callBehaviour(deps: CallDeps): ActorBehaviour<CallMessage, CallState> {
  return {
    initialState: () => new CallState(),
    async handle(state, message, call) {
      const room = new CallRoom(deps, state, call);
      switch (message.type) {
        case "start":
          settle(deps.link, message.caller.conn, message.r, await decideStart(room, message));
          break;
        case "signal":
          settle(deps.link, message.from.conn, "r" in message.frame ? message.frame.r : undefined, decideSignal(room, message));
          break;
        case "rung":
          onRung(room, message);
          break;
        case "busy":
          onBusy(room, message);
          break;
        case "disconnected":
          onDisconnected(room, message);
          break;
        case "timeout":
          onTimeout(room);
          break;
      }
      return state;
    },
    keepAlive: (state) => state.phase === "ringing" || state.phase === "active",
    answerCrash(message) {
      if (message.type === "start") settle(deps.link, message.caller.conn, message.r, refuse("internal", "the call failed; try again"));
      if (message.type === "signal" && "r" in message.frame) settle(deps.link, message.from.conn, message.frame.r, refuse("internal", "the call failed handling this"));
    },
  };
}

/** Whom a new call rings: a user, or a group's other members (the group's members may join). */
interface Callees {
  users: string[];
  members?: readonly string[];
}

async function calleesOf(room: CallRoom, start: CallStart): Promise<Refusal | Callees> {
  const { deps } = room;
  const { caller } = start;
  if (start.group === undefined) {
    if (start.to === caller.user) return refuse("invalid_field", "a call needs someone else to call");
    return { users: [start.to!] };
  }
  const group = await deps.groups.get(start.group);
  if (!group || !group.members.includes(caller.user)) return refuse("forbidden", `not a member of ${start.group}`);
  if (group.members.length > deps.maxParticipants) {
    return refuse("limit_exceeded", `group calls take at most ${deps.maxParticipants} participants; this group has ${group.members.length} members`);
  }
  return { users: group.members.filter((member) => member !== caller.user), members: group.members };
}

/** `call.offer` without a call: the caller joins, and once answered, the callees ring. */
async function decideStart(room: CallRoom, start: CallStart): Promise<CallDecision> {
  const { state, call, deps } = room;
  const { caller } = start;
  if (state.phase !== "new") return refuse("conflict", "this call id is taken");
  const callees = await calleesOf(room, start);
  if ("ok" in callees) return callees;
  if (callees.members) {
    state.group = start.group;
    state.members = callees.members;
  }
  state.chat = state.group ?? directChatId(caller.user, start.to!);
  state.phase = "ringing";
  state.video = start.video;
  state.caller = caller;
  state.startedAt = deps.clock.now();
  room.join(caller);
  return accepted(call, start.r, () => {
    // A group call's ring carries no session description: in a mesh each joiner offers to
    // every participant (one negotiation per pair), so there is nothing to answer yet.
    const offer: CallIncomingOfferFrame = state.group
      ? { t: "call.offer", call, from: caller.user, device: caller.device, video: start.video, group: state.group }
      : { t: "call.offer", call, from: caller.user, device: caller.device, video: start.video, sdp: start.sdp };
    if (state.group) room.notifyGroup({ t: "call.join", call, group: state.group, user: caller.user, device: caller.device, participants: [caller.user] });
    room.startRinging(callees.users, offer);
  });
}

/** A callee's UserActor rang these devices. */
function onRung(room: CallRoom, message: CallRung): void {
  const { state, deps, call } = room;
  const devices = state.ringing.get(message.user);
  if (state.phase === "ended" || !devices) {
    // Rung after the call stopped ringing them: stop those devices again.
    for (const { conn } of message.devices) {
      if (state.participants.has(message.user)) room.send(conn, { t: "call.answered_elsewhere", call });
      else room.send(conn, { t: "call.end", call, reason: state.answeredAt === undefined ? "missed" : "hangup" });
    }
    return;
  }
  devices.push(...message.devices);
  // Registered devices that are not connected are woken to ring too (all of them when none is).
  if (message.first) deps.wake?.(message.user, call, state.caller!.user, state.video, deps.ringTimeoutMs, message.devices.map((d) => d.device));
}

function onBusy(room: CallRoom, message: CallBusy): void {
  const { state } = room;
  if (state.phase === "ended" || !state.ringing.has(message.user)) return;
  if (!state.group) return room.end("busy");
  state.ringing.delete(message.user);
  if (state.ringing.size === 0 && state.participants.size <= 1) room.end("busy");
}

/** A device's connection closed: a participant leaves; a ringing device stops counting. */
function onDisconnected(room: CallRoom, message: CallDisconnected): void {
  const { state } = room;
  if (state.phase === "new" || state.phase === "ended") return;
  const party = [...state.participants.values()].find((p) => sameConn(p.conn, message.conn));
  if (party) return room.leave(party.user);
  for (const [user, devices] of state.ringing) state.ringing.set(user, devices.filter((d) => !sameConn(d.conn, message.conn)));
}

function onTimeout(room: CallRoom): void {
  const { state } = room;
  if (state.phase === "ended") return;
  room.stopAllRinging("missed");
  if (state.phase === "ringing" || state.participants.size <= 1) room.end("missed");
}
