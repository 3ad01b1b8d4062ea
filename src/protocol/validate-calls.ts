import { GROUP_ID_PATTERN, isUserId, type CallOfferFrame, type CallRequestFrame } from "./frames.ts";
import { absent, FieldError, optionalRequestId, requestId, text, type FrameParsers, type Fields } from "./validate-fields.ts";

/** A call id: `<20 random base-32 characters>@<node>`, the node holding the call (src/calls/call-id.ts). */
export const CALL_ID_PATTERN = /^[a-z2-7]{20}@[!-~]{1,128}$/;

/** Session descriptions are a few KiB; the frame limit (64 KiB) bounds them anyway. */
export const MAX_SDP_LENGTH = 32 * 1024;
export const MAX_CANDIDATE_LENGTH = 2048;

function call(fields: Fields): string {
  if (typeof fields.call !== "string" || !CALL_ID_PATTERN.test(fields.call)) throw new FieldError("`call` must be a call id from `call.ok`");
  return fields.call;
}

function optionalUser(fields: Fields, name: string): string | undefined {
  const value = fields[name];
  if (absent(value)) return undefined;
  if (!isUserId(value)) throw new FieldError(`\`${name}\` must be a user id`);
  return value;
}

function offer(fields: Fields): CallOfferFrame {
  const r = requestId(fields);
  const to = optionalUser(fields, "to");
  const group = fields.group;
  if (!absent(group) && (typeof group !== "string" || !GROUP_ID_PATTERN.test(group))) throw new FieldError("`group` must be a group chat id (g:...)");
  const inCall = !absent(fields.call);
  if (inCall ? to === undefined || !absent(group) : (to === undefined) === absent(group)) {
    throw new FieldError("a new call names exactly one of `to` and `group`; an offer inside a call names `call` and `to`");
  }
  if (typeof fields.video !== "boolean") throw new FieldError("`video` must be a boolean");
  // A new group call carries no session description (each joiner offers to each participant).
  const sdp = !inCall && !absent(group) && absent(fields.sdp) ? undefined : text(fields, "sdp", MAX_SDP_LENGTH);
  return { t: "call.offer", r, call: inCall ? call(fields) : undefined, to, group: absent(group) ? undefined : (group as string), video: fields.video, sdp };
}

/** Call signalling: offers, answers and ICE between devices, ringing, the end, joins, TURN. */
export const CALL_PARSERS: FrameParsers<CallRequestFrame> = {
  "call.offer": offer,
  "call.answer": (fields) => ({ t: "call.answer", r: optionalRequestId(fields), call: call(fields), sdp: text(fields, "sdp", MAX_SDP_LENGTH), to: optionalUser(fields, "to") }),
  "call.ice": (fields) => ({ t: "call.ice", call: call(fields), candidate: text(fields, "candidate", MAX_CANDIDATE_LENGTH), to: optionalUser(fields, "to") }),
  "call.ringing": (fields) => ({ t: "call.ringing", call: call(fields) }),
  "call.reject": (fields) => {
    const reason = fields.reason;
    if (reason !== "busy" && reason !== "declined") throw new FieldError("`reason` must be busy or declined");
    return { t: "call.reject", r: optionalRequestId(fields), call: call(fields), reason };
  },
  "call.end": (fields) => ({ t: "call.end", r: optionalRequestId(fields), call: call(fields) }),
  "call.join": (fields) => ({ t: "call.join", r: requestId(fields), call: call(fields) }),
  "call.turn": (fields) => ({ t: "call.turn", r: requestId(fields) }),
};
