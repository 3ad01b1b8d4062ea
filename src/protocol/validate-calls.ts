import { GROUP_ID_PATTERN, isUserId, type CallRequestFrame } from "./frames.ts";

/** A call id: `<20 random base-32 characters>@<node>`, the node holding the call (src/calls/call-id.ts). */
export const CALL_ID_PATTERN = /^[a-z2-7]{20}@[!-~]{1,128}$/;

/** Session descriptions are a few KiB; the frame limit (64 KiB) bounds them anyway. */
export const MAX_SDP_LENGTH = 32 * 1024;
export const MAX_CANDIDATE_LENGTH = 2048;

type Fields = Record<string, unknown>;

function absent(value: unknown): value is undefined | null {
  return value === undefined || value === null;
}

function isUnsigned(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** `call.*` frames; `fail` builds the validator's field error so the caller answers `invalid_field`. */
export function parseCallFrame(fields: Fields, fail: (msg: string) => Error): CallRequestFrame {
  const required = (): number => {
    if (!isUnsigned(fields.r)) throw fail("`r` must be an unsigned integer");
    return fields.r;
  };
  const optionalR = (): number | undefined => (absent(fields.r) ? undefined : required());
  const call = (): string => {
    if (typeof fields.call !== "string" || !CALL_ID_PATTERN.test(fields.call)) throw fail("`call` must be a call id from `call.ok`");
    return fields.call;
  };
  const text = (name: string, max: number): string => {
    const value = fields[name];
    if (typeof value !== "string" || value.length === 0 || value.length > max) throw fail(`\`${name}\` must be a string of 1-${max} characters`);
    return value;
  };
  const optionalUser = (name: string): string | undefined => {
    const value = fields[name];
    if (absent(value)) return undefined;
    if (!isUserId(value)) throw fail(`\`${name}\` must be a user id`);
    return value;
  };
  switch (fields.t) {
    case "call.offer": {
      const r = required();
      const to = optionalUser("to");
      const group = fields.group;
      if (!absent(group) && (typeof group !== "string" || !GROUP_ID_PATTERN.test(group))) throw fail("`group` must be a group chat id (g:...)");
      const inCall = !absent(fields.call);
      if (inCall ? to === undefined || !absent(group) : (to === undefined) === absent(group)) {
        throw fail("a new call names exactly one of `to` and `group`; an offer inside a call names `call` and `to`");
      }
      if (typeof fields.video !== "boolean") throw fail("`video` must be a boolean");
      // A new group call carries no session description (each joiner offers to each participant).
      const sdp = !inCall && !absent(group) && absent(fields.sdp) ? undefined : text("sdp", MAX_SDP_LENGTH);
      return { t: "call.offer", r, call: inCall ? call() : undefined, to, group: absent(group) ? undefined : (group as string), video: fields.video, sdp };
    }
    case "call.answer":
      return { t: "call.answer", r: optionalR(), call: call(), sdp: text("sdp", MAX_SDP_LENGTH), to: optionalUser("to") };
    case "call.ice":
      return { t: "call.ice", call: call(), candidate: text("candidate", MAX_CANDIDATE_LENGTH), to: optionalUser("to") };
    case "call.ringing":
      return { t: "call.ringing", call: call() };
    case "call.reject": {
      const reason = fields.reason;
      if (reason !== "busy" && reason !== "declined") throw fail("`reason` must be busy or declined");
      return { t: "call.reject", r: optionalR(), call: call(), reason };
    }
    case "call.end":
      return { t: "call.end", r: optionalR(), call: call() };
    case "call.join":
      return { t: "call.join", r: required(), call: call() };
    case "call.turn":
      return { t: "call.turn", r: required() };
    default:
      throw fail("unknown call frame");
  }
}
