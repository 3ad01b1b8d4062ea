import { createHmac } from "node:crypto";
import type { PushRegistration } from "../storage/push.ts";
import { fitPayload, type CallPush, type PushNotification, type PushOutcome, type PushProvider } from "./notification.ts";

export const SIGNATURE_HEADER = "x-router-signature";
export const TIMESTAMP_HEADER = "x-router-timestamp";

/** `v1=` + hex HMAC-SHA256 of `timestamp.body`: the timestamp in the MAC lets receivers refuse replays. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/**
 * POSTs `body` (JSON) to `url`, signed with `secret`; resolves with the answer's status once
 * its body is drained. Push and SMS webhooks share it, so receivers verify both one way.
 */
export async function postSignedJson(url: string, secret: string, body: string, timeoutMs: number): Promise<number> {
  const timestamp = String(Date.now());
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      [TIMESTAMP_HEADER]: timestamp,
      [SIGNATURE_HEADER]: webhookSignature(secret, timestamp, body),
    },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  await response.arrayBuffer();
  return response.status;
}

/**
 * POSTs JSON to one operator-configured URL. The device's token is only data in the body:
 * clients never choose where the server sends requests.
 */
export class WebhookProvider implements PushProvider {
  readonly platform = "webhook" as const;

  constructor(private readonly options: { url: string; secret: string; timeoutMs?: number }) {}

  async send(registration: PushRegistration, notification: PushNotification): Promise<PushOutcome> {
    const body = fitPayload(notification, (n) => ({
      event: "message",
      user: registration.user,
      device: registration.device,
      token: registration.token,
      count: n.count,
      chats: n.chats,
      title: n.title,
      body: n.body,
    }));
    return this.post(body);
  }

  /** Event `call`: `ttl` (ms) says how long the call rings; a receiver should not deliver it later. */
  sendCall(registration: PushRegistration, call: CallPush): Promise<PushOutcome> {
    const { user, device, token } = registration;
    return this.post(JSON.stringify({ event: "call", user, device, token, call: call.call, from: call.from, video: call.video, ttl: call.ttlMs }));
  }

  private async post(body: string): Promise<PushOutcome> {
    const status = await postSignedJson(this.options.url, this.options.secret, body, this.options.timeoutMs ?? 10_000);
    if (status >= 200 && status < 300) return { kind: "sent" };
    if (status === 410) return { kind: "unregistered", reason: "410" };
    return { kind: "failed", reason: `webhook ${status}` };
  }

  async close(): Promise<void> {}
}
