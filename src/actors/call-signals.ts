import type { CallSignal, Party } from "../calls/messages.ts";
import type { CallIncomingOfferFrame } from "../protocol/frames.ts";
import { refuse } from "./command-result.ts";
import { accepted, IGNORED, sameConn, type CallDecision, type CallRoom } from "./call-room.ts";

/** Caller ICE candidates sent before the answer, held for the device that answers. */
const MAX_EARLY_CANDIDATES = 64;

type SignalFrame = CallSignal["frame"];
type FrameOf<T extends SignalFrame["t"]> = Extract<SignalFrame, { t: T }>;

/** How the device that sent a frame stands in the call. */
interface Standing {
  /** It takes part in the call (its user joined from this very device). */
  participant: boolean;
  /** It is one of the devices ringing for the call. */
  ringing: boolean;
}

/** A `call.*` frame of a device, for the call it names: what to answer and what follows. */
export function decideSignal(room: CallRoom, signal: CallSignal): CallDecision {
  const { state } = room;
  const { from, frame } = signal;
  const r = "r" in frame ? frame.r : undefined;
  const joined = state.participants.get(from.user);
  const participant = joined !== undefined && sameConn(joined.conn, from.conn);
  const standing: Standing = { participant, ringing: !participant && room.isRinging(from) };
  const member = state.group !== undefined && state.members.includes(from.user);
  if (state.phase === "new" || state.phase === "ended" || (!standing.participant && !standing.ringing && !(frame.t === "call.join" && member))) {
    // Unknown, over, or not this device's: the same answer, so ids cannot be probed.
    return frame.t === "call.ice" ? IGNORED : refuse("not_found", "no such call, or it is over");
  }
  switch (frame.t) {
    case "call.ringing":
      if (standing.ringing) room.send(state.caller!.conn, { t: "call.ringing", call: room.call, user: from.user, device: from.device });
      return IGNORED;
    case "call.answer":
      return standing.ringing ? onAnswerRinging(room, from, frame) : onAnswerPeer(room, from, frame);
    case "call.offer":
      return onOffer(room, from, frame, standing);
    case "call.ice":
      return onIce(room, from, frame, standing);
    case "call.reject":
      if (!standing.ringing) return refuse("conflict", "only a ringing device can reject");
      return accepted(room.call, r, () => room.declined(from, frame.reason));
    case "call.end":
      return accepted(room.call, r, () => (standing.ringing ? room.declined(from, "declined") : room.leave(from.user)));
    case "call.join":
      return onJoin(room, from, frame, standing);
  }
}

/** A ringing device answers: the first one wins and the user's other devices stop ringing. */
function onAnswerRinging(room: CallRoom, from: Party, frame: FrameOf<"call.answer">): CallDecision {
  const { state, call } = room;
  if (state.group) return refuse("conflict", "join a group call with call.join, then offer to each participant");
  room.stopRinging(from.user, from.conn, "answered_elsewhere");
  room.join(from);
  state.phase = "active";
  state.answeredAt = room.deps.clock.now();
  state.timer?.cancel();
  room.send(state.caller!.conn, { t: "call.answer", call, from: from.user, device: from.device, sdp: frame.sdp });
  return accepted(call, frame.r, () => {
    // After its `call.ok`: the caller's candidates that came before the answer.
    for (const candidate of state.earlyCandidates) {
      room.send(from.conn, { t: "call.ice", call, from: state.caller!.user, device: state.caller!.device, candidate });
    }
    state.earlyCandidates = [];
  });
}

/** A participant answers another's offer (renegotiation, or a group call's pairwise offers). */
function onAnswerPeer(room: CallRoom, from: Party, frame: FrameOf<"call.answer">): CallDecision {
  const target = room.peer(from, frame.to);
  if (!target) return refuse("not_found", "nobody by that name in this call");
  room.send(target.conn, { t: "call.answer", call: room.call, from: from.user, device: from.device, sdp: frame.sdp });
  return accepted(room.call, frame.r);
}

function onOffer(room: CallRoom, from: Party, frame: FrameOf<"call.offer">, standing: Standing): CallDecision {
  if (!standing.participant) return refuse("not_found", "answer or join the call first");
  const target = room.peer(from, frame.to);
  if (!target) return refuse("not_found", "nobody by that name in this call");
  const offer: CallIncomingOfferFrame = { t: "call.offer", call: room.call, from: from.user, device: from.device, video: frame.video, sdp: frame.sdp };
  if (room.state.group) offer.group = room.state.group;
  room.send(target.conn, offer);
  return accepted(room.call, frame.r);
}

/** ICE is never answered: a candidate that has nowhere to go is dropped. */
function onIce(room: CallRoom, from: Party, frame: FrameOf<"call.ice">, standing: Standing): CallDecision {
  const { state } = room;
  if (!standing.participant) return IGNORED;
  if (state.phase === "ringing" && !state.group) {
    if (state.earlyCandidates.length < MAX_EARLY_CANDIDATES) state.earlyCandidates.push(frame.candidate);
    return IGNORED;
  }
  const target = room.peer(from, frame.to);
  if (target) room.send(target.conn, { t: "call.ice", call: room.call, from: from.user, device: from.device, candidate: frame.candidate });
  return IGNORED;
}

function onJoin(room: CallRoom, from: Party, frame: FrameOf<"call.join">, standing: Standing): CallDecision {
  const { state, deps } = room;
  if (!state.group) return refuse("not_found", "only group calls can be joined");
  if (standing.participant || state.participants.has(from.user)) return refuse("conflict", "already in this call");
  if (state.participants.size >= deps.maxParticipants) return refuse("limit_exceeded", `a call takes at most ${deps.maxParticipants} participants`);
  room.stopRinging(from.user, from.conn, "answered_elsewhere");
  room.groupJoined(from);
  return accepted(room.call, frame.r);
}
