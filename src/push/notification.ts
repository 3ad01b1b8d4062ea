import type { PushRegistration } from "../storage/push.ts";

/** A message a device may still be pushed about. Holds at most a short preview, never a body. */
export interface PendingMessage {
  chat: string;
  seq: number;
  from: string;
  ts: number;
  /** Only for kind "text" with a string body, already truncated. */
  preview?: string;
}

/** What one push says: a summary of the messages a device has not acked. */
export interface PushNotification {
  count: number;
  /** Per chat, newest first: how many messages and the latest seq. */
  chats: Array<{ chat: string; count: number; seq: number }>;
  title: string;
  body: string;
}

/** A call ringing a user with no device connected: wake a device so it connects and rings. */
export interface CallPush {
  call: string;
  from: string;
  video: boolean;
  /** The ring timeout: after it the push is useless, and providers should drop it. */
  ttlMs: number;
}

export interface PushProvider {
  readonly platform: PushRegistration["platform"];
  send(registration: PushRegistration, notification: PushNotification): Promise<PushOutcome>;
  /** High priority, expiring with the ring (APNs `voip`, FCM high priority with a TTL, webhook event `call`). */
  sendCall(registration: PushRegistration, call: CallPush): Promise<PushOutcome>;
  close(): Promise<void>;
}

export type PushOutcome =
  | { kind: "sent" }
  /** The provider says the token is dead: the registration goes. */
  | { kind: "unregistered"; reason: string }
  | { kind: "failed"; reason: string };

/** Providers cap payloads at 4 KiB (APNs, FCM); the webhook keeps the same bound. */
export const MAX_PAYLOAD_BYTES = 4096;

export function previewOf(kind: string, body: Uint8Array | string, maxChars: number): string | undefined {
  // Anything but plain text may be ciphertext or structured data a lock screen must not show.
  if (kind !== "text" || typeof body !== "string" || maxChars <= 0) return undefined;
  // Every message to an offline device comes through here: a body no longer in UTF-16 units
  // than the limit is no longer in characters either, and needs no split.
  if (body.length <= maxChars) return body;
  const chars = [...body];
  return chars.length <= maxChars ? body : `${chars.slice(0, maxChars).join("")}…`;
}

export function summarise(messages: readonly PendingMessage[]): PushNotification {
  const byChat = new Map<string, { chat: string; count: number; seq: number; ts: number }>();
  for (const m of messages) {
    const entry = byChat.get(m.chat) ?? { chat: m.chat, count: 0, seq: 0, ts: 0 };
    entry.count += 1;
    entry.seq = Math.max(entry.seq, m.seq);
    entry.ts = Math.max(entry.ts, m.ts);
    byChat.set(m.chat, entry);
  }
  const chats = [...byChat.values()].sort((a, b) => b.ts - a.ts).map(({ chat, count, seq }) => ({ chat, count, seq }));
  const senders = new Set(messages.map((m) => m.from));
  const count = messages.length;
  const only = count === 1 ? messages[0] : undefined;
  const title = senders.size === 1 ? [...senders][0]! : "New messages";
  const body =
    only?.preview ?? (count === 1 ? "New message" : `${count} new messages${chats.length > 1 ? ` in ${chats.length} chats` : ""}`);
  return { count, chats, title, body };
}

/**
 * Serialises `build(notification)` within the byte limit: drops per-chat detail first, then
 * shortens the body, so a push always goes out with its count.
 */
export function fitPayload(notification: PushNotification, build: (n: PushNotification) => unknown, limit = MAX_PAYLOAD_BYTES): string {
  let current = notification;
  for (;;) {
    const json = JSON.stringify(build(current));
    if (Buffer.byteLength(json) <= limit) return json;
    if (current.chats.length > 1) {
      current = { ...current, chats: current.chats.slice(0, Math.floor(current.chats.length / 2)) };
    } else if (current.body.length > 16 || current.title.length > 16) {
      current = { ...current, body: `${[...current.body].slice(0, 16).join("")}…`, title: `${[...current.title].slice(0, 16).join("")}…` };
    } else {
      return JSON.stringify(build({ ...current, chats: [] }));
    }
  }
}
