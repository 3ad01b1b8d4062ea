import type { ClientFrame, ClientFrameType, ErrorCode } from "./frames.ts";
import { FieldError, isUnsigned, type Fields, type FrameParsers } from "./validate-fields.ts";
import { SESSION_PARSERS } from "./validate-session.ts";
import { MESSAGING_PARSERS } from "./validate-messaging.ts";
import { GROUP_PARSERS } from "./validate-groups.ts";
import { ACCOUNT_PARSERS } from "./validate-account.ts";
import { CONTACTS_PARSERS } from "./validate-contacts.ts";
import { KEYS_PARSERS } from "./validate-keys.ts";
import { PUSH_PARSERS } from "./validate-push.ts";
import { CALL_PARSERS } from "./validate-calls.ts";
import { STATUS_PARSERS } from "./validate-status.ts";

export { MAX_PROFILE_ABOUT_LENGTH, MAX_PROFILE_NAME_LENGTH } from "./validate-account.ts";
export { MAX_USER_LIST } from "./validate-fields.ts";

/** Why an inbound frame was refused, with the request id when the frame carried a usable one. */
export interface FrameRejection {
  ok: false;
  code: ErrorCode;
  msg: string;
  r?: number;
}

export type Validated = { ok: true; frame: ClientFrame } | FrameRejection;

/**
 * Every family of frames, each named once. Typed over the whole union: a frame type without
 * a validator, or a family left out here, does not compile.
 */
const FRAME_PARSERS: FrameParsers<ClientFrame> = {
  ...SESSION_PARSERS,
  ...MESSAGING_PARSERS,
  ...GROUP_PARSERS,
  ...ACCOUNT_PARSERS,
  ...CONTACTS_PARSERS,
  ...KEYS_PARSERS,
  ...PUSH_PARSERS,
  ...CALL_PARSERS,
  ...STATUS_PARSERS,
};

// Without a prototype, a client's `t` of "constructor" or "__proto__" finds nothing. (A Map
// does too, but looks a decoded string up a few ns slower: this is every frame's path.)
const PARSER_OF: Readonly<Record<string, ((fields: Fields) => ClientFrame) | undefined>> = Object.assign(Object.create(null), FRAME_PARSERS);

/** Every frame type a client may send, as the validators know them (the fuzzer sends each). */
export const CLIENT_FRAME_TYPES: readonly ClientFrameType[] = Object.keys(FRAME_PARSERS) as ClientFrameType[];

/**
 * Checks one decoded value against the frame union. Nothing reaches an actor without passing
 * here; the result is a fresh object holding only known fields.
 */
export function validateFrame(value: unknown): Validated {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    return { ok: false, code: "bad_frame", msg: "a frame is a MessagePack map" };
  }
  const fields = value as Fields;
  const r = isUnsigned(fields.r) ? fields.r : undefined;
  if (typeof fields.t !== "string") return { ok: false, code: "bad_frame", msg: "a frame needs a string `t`", r };
  const parse = PARSER_OF[fields.t];
  if (!parse) return { ok: false, code: "unknown_type", msg: `unknown frame type ${JSON.stringify(fields.t.slice(0, 32))}`, r };
  try {
    return { ok: true, frame: parse(fields) };
  } catch (error) {
    if (error instanceof FieldError) return { ok: false, code: "invalid_field", msg: error.message, r };
    throw error;
  }
}
