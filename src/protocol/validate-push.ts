import { directChatMembers, isGroupChat, type PushRequestFrame } from "./frames.ts";

// Provider tokens are hex (APNs) or base64url-like (FCM); nothing else may reach a URL path or header.
const MAX_TOKEN_LENGTH = 4096;
const TOKEN_PATTERN = /^[A-Za-z0-9_:.-]+$/;
const MINUTES_PER_DAY = 1440;
const MAX_CHAT_ID_LENGTH = 160;

type Fields = Record<string, unknown>;

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function isUnsigned(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function absent(value: unknown): value is undefined | null {
  return value === undefined || value === null;
}

/** `push.*` frames; `fail` builds the validator's field error so the caller answers `invalid_field`. */
export function parsePushFrame(fields: Fields, fail: (msg: string) => Error): PushRequestFrame {
  if (!isUnsigned(fields.r)) throw fail("`r` must be an unsigned integer");
  const r = fields.r;
  switch (fields.t) {
    case "push.register": {
      const { platform, token } = fields;
      if (platform !== "apns" && platform !== "fcm" && platform !== "webhook") throw fail("`platform` must be one of apns, fcm, webhook");
      if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH || !TOKEN_PATTERN.test(token)) {
        throw fail(`\`token\` must be 1-${MAX_TOKEN_LENGTH} characters of A-Za-z0-9_:.-`);
      }
      return { t: "push.register", r, platform, token };
    }
    case "push.unregister":
      return { t: "push.unregister", r };
    case "push.mute": {
      const { chat, until } = fields;
      if (typeof chat !== "string" || chat.length > MAX_CHAT_ID_LENGTH || (!isGroupChat(chat) && !directChatMembers(chat))) {
        throw fail("`chat` is not a chat id");
      }
      if (!isUnsigned(until)) throw fail("`until` must be ms since the epoch (0 unmutes)");
      return { t: "push.mute", r, chat, until };
    }
    case "push.dnd": {
      const { start, end, tz } = fields;
      if (absent(start) && absent(end)) return { t: "push.dnd", r };
      if (!isUnsigned(start) || !isUnsigned(end) || start > MINUTES_PER_DAY || end > MINUTES_PER_DAY) {
        throw fail(`\`start\` and \`end\` are minutes of the day, 0-${MINUTES_PER_DAY}, given together (neither clears)`);
      }
      if (!absent(tz) && (typeof tz !== "string" || tz.length > 64 || !isTimeZone(tz))) {
        throw fail("`tz` must be an IANA time zone such as Europe/Berlin");
      }
      return { t: "push.dnd", r, start, end, tz: absent(tz) ? undefined : (tz as string) };
    }
    default:
      throw fail(`not a push frame: ${String(fields.t)}`);
  }
}
