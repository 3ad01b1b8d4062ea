import { DEVICE_ID_PATTERN, type HelloFrame, type PingFrame, type RefreshFrame, type WatchFrame } from "./frames.ts";
import { FieldError, optionalRequestId, optionalText, requestId, userList, type FrameParsers, type Fields } from "./validate-fields.ts";

export type SessionFrame = HelloFrame | RefreshFrame | PingFrame | WatchFrame;

/**
 * Any non-empty string: a token's length is checked with the token itself, so an overlong
 * one is `unauthorized` (and closes a connection saying hello) like any other bad token.
 */
function token(fields: Fields): string {
  const value = fields.token;
  if (typeof value !== "string" || value.length === 0) throw new FieldError("`token` must be a non-empty string");
  return value;
}

/** The connection itself: signing in, renewing the token, liveness, and whose presence it watches. */
export const SESSION_PARSERS: FrameParsers<SessionFrame> = {
  hello: (fields) => ({ t: "hello", r: requestId(fields), token: token(fields), device: optionalText(fields, "device", 64, DEVICE_ID_PATTERN) }),
  refresh: (fields) => ({ t: "refresh", r: requestId(fields), token: token(fields) }),
  ping: (fields) => ({ t: "ping", r: requestId(fields) }),
  watch: (fields) => ({ t: "watch", r: optionalRequestId(fields), users: userList(fields, "users", true) }),
};
