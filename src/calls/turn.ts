import { createHmac } from "node:crypto";
import type { CallTurnFrame } from "../protocol/frames.ts";

export interface TurnSettings {
  secret: string;
  urls: string[];
  ttlSeconds: number;
}

/**
 * Time-limited TURN credentials in coturn's REST-API scheme (`use-auth-secret`): the username
 * is `<expiry, unix seconds>:<user>` and the password base64(HMAC-SHA1(secret, username)).
 * The TURN server checks both with the shared secret alone, so the router keeps no state and
 * a credential past its expiry, or signed with another secret, allocates nothing.
 */
export function turnCredentials(settings: TurnSettings, user: string, r: number, nowMs = Date.now()): CallTurnFrame {
  const expiry = Math.floor(nowMs / 1000) + settings.ttlSeconds;
  const username = `${expiry}:${user}`;
  const credential = createHmac("sha1", settings.secret).update(username).digest("base64");
  return { t: "call.turn", r, urls: settings.urls, username, credential, ttl: settings.ttlSeconds };
}

export function turnUrls(list: string): string[] {
  return list
    .split(",")
    .map((url) => url.trim())
    .filter((url) => url.length > 0);
}
