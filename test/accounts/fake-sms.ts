/**
 * A local stand-in for the SMS providers the node talks to: the router's signed webhook and
 * Twilio's Messages API, each checking requests the way the real receiver would (signature and
 * timestamp; path, HTTP Basic auth, form fields) and answering with their real shapes.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Sms {
  via: "webhook" | "twilio";
  to: string;
  code: string;
  text: string;
  /** Twilio: the form as sent. */
  form?: Record<string, string>;
}

/** Twilio's magic test number for an invalid "To": it answers 400 with error 21211. */
export const TWILIO_INVALID_NUMBER = "+15005550001";

export class FakeSms {
  readonly received: Sms[] = [];
  /** Why requests were refused, for assertions (a refused request is a bug in the sender). */
  readonly refusals: string[] = [];
  readonly webhookSecret = "sms-webhook-secret-0123456789";
  readonly accountSid = "AC0123456789abcdef0123456789abcdef";
  readonly authToken = "twilio-auth-token-0123456789";
  readonly from = "+15005550006";
  private waiters: Array<{ match: (s: Sms) => boolean; resolve: (s: Sms) => void }> = [];
  private server!: Server;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get webhookUrl(): string {
    return `${this.url}/sms-hook`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** The latest text to `to` that arrived after `after` texts had (default: any). */
  next(to: string, after = 0, timeoutMs = 20_000): Promise<Sms> {
    const match = (s: Sms) => s.to === to;
    const found = this.received.slice(after).find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no SMS to ${to}; refusals: ${JSON.stringify(this.refusals)}`)), timeoutMs);
      this.waiters.push({ match, resolve: (s) => (clearTimeout(timer), resolve(s)) });
    });
  }

  sentTo(to: string): Sms[] {
    return this.received.filter((s) => s.to === to);
  }

  private record(sms: Sms): void {
    this.received.push(sms);
    this.waiters = this.waiters.filter((w) => !(w.match(sms) && (w.resolve(sms), true)));
  }

  private refuse(res: ServerResponse, status: number, why: string, body: unknown): void {
    this.refusals.push(why);
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = "";
    for await (const chunk of req) raw += String(chunk);
    if (req.method === "POST" && req.url === "/sms-hook") return this.webhook(req, res, raw);
    const twilio = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(req.url ?? "");
    if (req.method === "POST" && twilio) return this.twilio(req, res, raw, decodeURIComponent(twilio[1] ?? ""));
    this.refuse(res, 404, `unexpected ${req.method} ${req.url}`, { code: 20404, message: "The requested resource was not found", status: 404 });
  }

  private webhook(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const timestamp = String(req.headers["x-router-timestamp"] ?? "");
    const signature = String(req.headers["x-router-signature"] ?? "");
    const expected = `v1=${createHmac("sha256", this.webhookSecret).update(`${timestamp}.${raw}`).digest("hex")}`;
    if (signature.length !== expected.length || !timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) {
      return this.refuse(res, 401, "webhook signature mismatch", { error: "bad signature" });
    }
    if (Math.abs(Date.now() - Number(timestamp)) > 5 * 60_000) return this.refuse(res, 401, "webhook timestamp stale", { error: "stale" });
    if (!String(req.headers["content-type"]).startsWith("application/json")) return this.refuse(res, 415, "webhook content-type", {});
    const body = JSON.parse(raw) as { to?: unknown; code?: unknown; text?: unknown; expires_at?: unknown };
    if (typeof body.to !== "string" || typeof body.code !== "string" || typeof body.text !== "string" || typeof body.expires_at !== "number") {
      return this.refuse(res, 400, `webhook body fields: ${raw}`, {});
    }
    if (!body.text.includes(body.code)) return this.refuse(res, 400, "webhook text lacks the code", {});
    this.record({ via: "webhook", to: body.to, code: body.code, text: body.text });
    res.writeHead(204).end();
  }

  private twilio(req: IncomingMessage, res: ServerResponse, raw: string, accountSid: string): void {
    const expectedAuth = `Basic ${Buffer.from(`${this.accountSid}:${this.authToken}`).toString("base64")}`;
    if (req.headers.authorization !== expectedAuth || accountSid !== this.accountSid) {
      return this.refuse(res, 401, "twilio auth", { code: 20003, message: "Authenticate", more_info: "https://www.twilio.com/docs/errors/20003", status: 401 });
    }
    if (req.headers["content-type"] !== "application/x-www-form-urlencoded") return this.refuse(res, 415, "twilio content-type", {});
    const form = Object.fromEntries(new URLSearchParams(raw));
    const { To: to, From: from, MessagingServiceSid: service, Body: text } = form;
    if (!to || !text || (!from && !service)) {
      return this.refuse(res, 400, `twilio form: ${raw}`, { code: 21604, message: "A 'To' phone number is required.", status: 400 });
    }
    if (to === TWILIO_INVALID_NUMBER) {
      return this.refuse(res, 400, "twilio invalid number", { code: 21211, message: `The 'To' number ${to} is not a valid phone number.`, status: 400 });
    }
    const code = /\b([0-9]{6})\b/.exec(text)?.[1];
    if (!code) return this.refuse(res, 400, "twilio body lacks a code", {});
    this.record({ via: "twilio", to, code, text, form });
    res.writeHead(201, { "content-type": "application/json" }).end(
      JSON.stringify({ sid: `SM${Date.now()}`, account_sid: accountSid, to, from: from ?? null, body: text, status: "queued" }),
    );
  }
}
