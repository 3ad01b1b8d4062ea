import type { PushDndFrame, PushMuteFrame, PushRegisterFrame, PushRequestFrame } from "./frames.ts";
import { absent, FieldError, isChatId, isUnsigned, requestId, type FrameParsers, type Fields } from "./validate-fields.ts";

// Provider tokens are hex (APNs) or base64url-like (FCM); nothing else may reach a URL path or header.
const MAX_TOKEN_LENGTH = 4096;
const TOKEN_PATTERN = /^[A-Za-z0-9_:.-]+$/;
const MINUTES_PER_DAY = 1440;

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function register(fields: Fields): PushRegisterFrame {
  const r = requestId(fields);
  const { platform, token } = fields;
  if (platform !== "apns" && platform !== "fcm" && platform !== "webhook") throw new FieldError("`platform` must be one of apns, fcm, webhook");
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH || !TOKEN_PATTERN.test(token)) {
    throw new FieldError(`\`token\` must be 1-${MAX_TOKEN_LENGTH} characters of A-Za-z0-9_:.-`);
  }
  return { t: "push.register", r, platform, token };
}

function mute(fields: Fields): PushMuteFrame {
  const r = requestId(fields);
  const { chat, until } = fields;
  if (!isChatId(chat)) throw new FieldError("`chat` is not a chat id");
  if (!isUnsigned(until)) throw new FieldError("`until` must be ms since the epoch (0 unmutes)");
  return { t: "push.mute", r, chat, until };
}

function dnd(fields: Fields): PushDndFrame {
  const r = requestId(fields);
  const { start, end, tz } = fields;
  if (absent(start) && absent(end)) return { t: "push.dnd", r };
  if (!isUnsigned(start) || !isUnsigned(end) || start > MINUTES_PER_DAY || end > MINUTES_PER_DAY) {
    throw new FieldError(`\`start\` and \`end\` are minutes of the day, 0-${MINUTES_PER_DAY}, given together (neither clears)`);
  }
  if (!absent(tz) && (typeof tz !== "string" || tz.length > 64 || !isTimeZone(tz))) {
    throw new FieldError("`tz` must be an IANA time zone such as Europe/Berlin");
  }
  return { t: "push.dnd", r, start, end, tz: absent(tz) ? undefined : (tz as string) };
}

/** Push registrations and preferences; each is answered `push.ok`. */
export const PUSH_PARSERS: FrameParsers<PushRequestFrame> = {
  "push.register": register,
  "push.unregister": (fields) => ({ t: "push.unregister", r: requestId(fields) }),
  "push.mute": mute,
  "push.dnd": dnd,
};
