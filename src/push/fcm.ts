import { readFileSync } from "node:fs";
import { importPKCS8, SignJWT } from "jose";
import type { PushRegistration } from "../storage/push.ts";
import { fitPayload, type CallPush, type PushNotification, type PushOutcome, type PushProvider } from "./notification.ts";

export interface FcmOptions {
  url: string;
  projectId: string;
  accessToken?: string;
  serviceAccount?: { client_email: string; private_key: string; token_uri?: string };
  tokenUrl?: string;
  timeoutMs?: number;
}

const SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";

export function fcmMessage(token: string, n: PushNotification): unknown {
  return {
    message: {
      token,
      notification: { title: n.title, body: n.body },
      // FCM data values must be strings.
      data: { count: String(n.count), chats: JSON.stringify(n.chats) },
      android: { priority: "HIGH" },
    },
  };
}

/**
 * A call: data only (the app shows its own incoming-call screen), high priority, and a TTL of
 * the ring timeout so FCM drops it rather than deliver it after the call stopped ringing.
 */
export function fcmCallMessage(token: string, call: CallPush): unknown {
  return {
    message: {
      token,
      data: { type: "call", call: call.call, from: call.from, video: String(call.video) },
      android: { priority: "HIGH", ttl: `${Math.max(1, Math.ceil(call.ttlMs / 1000))}s` },
    },
  };
}

/** FCM HTTP v1 with an OAuth bearer: a configured token, or one minted from a service account. */
export class FcmProvider implements PushProvider {
  readonly platform = "fcm" as const;
  private minted: { value: string; expiresAt: number } | undefined;

  constructor(private readonly options: FcmOptions) {
    if (!options.accessToken && !options.serviceAccount) throw new Error("fcm needs an access token or a service account");
  }

  static serviceAccountFrom(file: string): FcmOptions["serviceAccount"] {
    return JSON.parse(readFileSync(file, "utf8")) as FcmOptions["serviceAccount"];
  }

  private async bearer(renew = false): Promise<string> {
    const account = this.options.serviceAccount;
    if (!account) return this.options.accessToken!;
    if (!renew && this.minted && Date.now() < this.minted.expiresAt) return this.minted.value;
    const audience = this.options.tokenUrl || account.token_uri || GOOGLE_TOKEN_URL;
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ scope: SCOPE })
      .setProtectedHeader({ alg: "RS256", typ: "JWT" })
      .setIssuer(account.client_email)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(await importPKCS8(account.private_key, "RS256"));
    const response = await fetch(audience, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
    if (!response.ok) throw new Error(`fcm token exchange failed: ${response.status} ${await response.text()}`);
    const { access_token, expires_in } = (await response.json()) as { access_token: string; expires_in?: number };
    // Renew a minute early so a token never expires between check and use.
    this.minted = { value: access_token, expiresAt: Date.now() + Math.max(0, (expires_in ?? 3600) - 60) * 1000 };
    return access_token;
  }

  async send(registration: PushRegistration, notification: PushNotification): Promise<PushOutcome> {
    return this.deliver(fitPayload(notification, (n) => fcmMessage(registration.token, n)));
  }

  sendCall(registration: PushRegistration, call: CallPush): Promise<PushOutcome> {
    return this.deliver(JSON.stringify(fcmCallMessage(registration.token, call)));
  }

  private async deliver(body: string): Promise<PushOutcome> {
    let response = await this.post(body, await this.bearer());
    if (response.status === 401 && this.options.serviceAccount) response = await this.post(body, await this.bearer(true));
    if (response.ok) return { kind: "sent" };
    const text = await response.text();
    let code = "";
    try {
      const error = (JSON.parse(text) as { error?: { status?: string; details?: Array<{ errorCode?: string }> } }).error;
      code = error?.details?.find((d) => d.errorCode)?.errorCode ?? error?.status ?? "";
    } catch {
      code = text.slice(0, 200);
    }
    if (response.status === 404 || code === "UNREGISTERED") return { kind: "unregistered", reason: code || "404" };
    return { kind: "failed", reason: `fcm ${response.status} ${code}` };
  }

  private post(body: string, bearer: string): Promise<Response> {
    return fetch(`${this.options.url}/v1/projects/${encodeURIComponent(this.options.projectId)}/messages:send`, {
      method: "POST",
      headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json; charset=utf-8" },
      body,
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
  }

  async close(): Promise<void> {}
}
