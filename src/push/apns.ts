import { readFileSync } from "node:fs";
import { connect, constants, type ClientHttp2Session } from "node:http2";
import { importPKCS8, SignJWT, type CryptoKey } from "jose";
import type { PushRegistration } from "../storage/push.ts";
import { fitPayload, type CallPush, type PushNotification, type PushOutcome, type PushProvider } from "./notification.ts";

export interface ApnsOptions {
  url: string;
  /** PEM (PKCS#8) contents of the .p8 key. */
  key: string;
  keyId: string;
  teamId: string;
  topic: string;
  timeoutMs?: number;
}

// Apple refuses provider tokens older than an hour and throttles ones renewed more often than
// every 20 minutes: renew in between.
const TOKEN_TTL_MS = 50 * 60_000;

/** APNs headers that differ between message and call pushes; `expiresIn` in seconds. */
interface PushKind {
  type: "alert" | "voip";
  topic: string;
  expiresIn: number;
}
// Reasons after which the token will never work again.
const DEAD_TOKEN_REASONS = new Set(["BadDeviceToken", "Unregistered", "DeviceTokenNotForTopic"]);

export function apnsPayload(n: PushNotification): unknown {
  return {
    aps: { alert: { title: n.title, body: n.body }, badge: n.count, sound: "default", ...(n.chats.length === 1 ? { "thread-id": n.chats[0]!.chat } : {}) },
    router: { count: n.count, chats: n.chats },
  };
}

/** APNs over HTTP/2 with token (JWT) authentication; one long-lived connection, as Apple asks. */
export class ApnsProvider implements PushProvider {
  readonly platform = "apns" as const;
  private session: ClientHttp2Session | undefined;
  private signingKey: Promise<CryptoKey> | undefined;
  private token: { value: string; at: number } | undefined;

  constructor(private readonly options: ApnsOptions) {}

  static fromKeyFile(options: Omit<ApnsOptions, "key"> & { keyFile: string }): ApnsProvider {
    return new ApnsProvider({ ...options, key: readFileSync(options.keyFile, "utf8") });
  }

  private async providerToken(renew = false): Promise<string> {
    const now = Date.now();
    if (!renew && this.token && now - this.token.at < TOKEN_TTL_MS) return this.token.value;
    this.signingKey ??= importPKCS8(this.options.key, "ES256");
    const value = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: this.options.keyId })
      .setIssuer(this.options.teamId)
      .setIssuedAt(Math.floor(now / 1000))
      .sign(await this.signingKey);
    this.token = { value, at: now };
    return value;
  }

  private connection(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = connect(this.options.url);
    session.on("error", () => {
      if (this.session === session) this.session = undefined;
    });
    session.on("close", () => {
      if (this.session === session) this.session = undefined;
    });
    // The node's lifetime is not tied to an idle push connection.
    session.unref();
    this.session = session;
    return session;
  }

  async send(registration: PushRegistration, notification: PushNotification): Promise<PushOutcome> {
    return this.deliver(registration, fitPayload(notification, apnsPayload), { type: "alert", topic: this.options.topic, expiresIn: 86_400 });
  }

  /**
   * A VoIP push (PushKit): its own push type and `<bundle id>.voip` topic, high priority,
   * expiring with the ring so a phone that comes back later is not rung for a call long over.
   */
  sendCall(registration: PushRegistration, call: CallPush): Promise<PushOutcome> {
    const payload = JSON.stringify({ aps: {}, router: { type: "call", call: call.call, from: call.from, video: call.video } });
    return this.deliver(registration, payload, { type: "voip", topic: `${this.options.topic}.voip`, expiresIn: Math.max(1, Math.ceil(call.ttlMs / 1000)) });
  }

  private async deliver(registration: PushRegistration, payload: string, kind: PushKind): Promise<PushOutcome> {
    let answer = await this.post(registration.token, payload, await this.providerToken(), kind);
    if (answer.status === 403 && answer.reason === "ExpiredProviderToken") {
      answer = await this.post(registration.token, payload, await this.providerToken(true), kind);
    }
    if (answer.status === 200) return { kind: "sent" };
    if (answer.status === 410 || (answer.status === 400 && DEAD_TOKEN_REASONS.has(answer.reason))) {
      return { kind: "unregistered", reason: answer.reason || String(answer.status) };
    }
    return { kind: "failed", reason: `apns ${answer.status} ${answer.reason}` };
  }

  private post(deviceToken: string, payload: string, jwt: string, kind: PushKind): Promise<{ status: number; reason: string }> {
    return new Promise((resolve, reject) => {
      const request = this.connection().request({
        [constants.HTTP2_HEADER_METHOD]: "POST",
        [constants.HTTP2_HEADER_PATH]: `/3/device/${encodeURIComponent(deviceToken)}`,
        authorization: `bearer ${jwt}`,
        "apns-topic": kind.topic,
        "apns-push-type": kind.type,
        "apns-priority": "10",
        // Undelivered pushes are worthless after a day (the app syncs when opened anyway), a
        // call's once it stopped ringing.
        "apns-expiration": String(Math.floor(Date.now() / 1000) + kind.expiresIn),
        "content-type": "application/json",
      });
      request.setTimeout(this.options.timeoutMs ?? 10_000, () => request.close(constants.NGHTTP2_CANCEL));
      let status = 0;
      let body = "";
      request.on("response", (headers) => (status = Number(headers[constants.HTTP2_HEADER_STATUS])));
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => (body += chunk));
      request.on("end", () => {
        let reason = "";
        try {
          reason = body ? String((JSON.parse(body) as { reason?: unknown }).reason ?? "") : "";
        } catch {
          reason = body.slice(0, 200);
        }
        resolve({ status, reason });
      });
      request.on("error", reject);
      request.on("close", () => {
        if (status === 0) reject(new Error("apns stream closed without a response"));
      });
      request.end(payload);
    });
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (session && !session.closed) await new Promise<void>((resolve) => session.close(() => resolve()));
  }
}
