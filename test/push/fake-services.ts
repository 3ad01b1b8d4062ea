/**
 * Local stand-ins for APNs, FCM and a webhook receiver that check requests the way the real
 * services do (auth, headers, payload shape and size) and answer with their real error shapes.
 */
import { createHmac, generateKeyPairSync, randomBytes, timingSafeEqual, type KeyObject } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { constants, createServer as createHttp2Server, type Http2Server, type IncomingHttpHeaders } from "node:http2";
import type { AddressInfo } from "node:net";
import { decodeProtectedHeader, jwtVerify } from "jose";

export interface Received {
  token: string;
  /** The raw request body as sent, to check nothing secret leaked into it. */
  raw: string;
  payload: Record<string, unknown>;
  /** APNs: the request's apns-* headers. */
  headers?: Record<string, string>;
}

/** Requests the fake accepted, with a way to wait for one. */
export class Recorder {
  readonly items: Received[] = [];
  private waiters: Array<{ match: (r: Received) => boolean; resolve: (r: Received) => void }> = [];

  add(item: Received): void {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(item)) return true;
      w.resolve(item);
      return false;
    });
  }

  forToken(token: string): Received[] {
    return this.items.filter((r) => r.token === token);
  }

  next(match: (r: Received) => boolean, timeoutMs = 10_000): Promise<Received> {
    const found = this.items.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no matching push request")), timeoutMs);
      this.waiters.push({ match, resolve: (r) => (clearTimeout(timer), resolve(r)) });
    });
  }
}

function readBody(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => (body += chunk));
    stream.on("end", () => resolve(body));
    stream.on("error", reject);
  });
}

function listen(server: Server | Http2Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

// ---- APNs ---------------------------------------------------------------------

export class FakeApns {
  readonly received = new Recorder();
  /** Tokens APNs no longer knows: 410 Unregistered. */
  readonly unregistered = new Set<string>();
  readonly teamId = "TEAM123456";
  readonly keyId = "KEY1234567";
  readonly topic = "com.example.router";
  readonly privateKeyPem: string;
  private readonly publicKey: KeyObject;
  private server!: Http2Server;
  port = 0;
  /** Why the last refused request was refused (for assertions when a test goes wrong). */
  lastRefusal = "";

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    this.privateKeyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    this.publicKey = publicKey;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createHttp2Server();
    this.server.on("stream", (stream, headers) => {
      void readBody(stream).then(async (body) => {
        const [status, reason] = await this.check(headers, body);
        const responseHeaders = { [constants.HTTP2_HEADER_STATUS]: status, "apns-id": randomBytes(16).toString("hex") };
        if (status === 200) {
          stream.respond(responseHeaders);
          stream.end();
        } else {
          this.lastRefusal = reason;
          stream.respond({ ...responseHeaders, "content-type": "application/json" });
          stream.end(JSON.stringify(status === 410 ? { reason, timestamp: Date.now() } : { reason }));
        }
      });
    });
    this.port = await listen(this.server);
    return this;
  }

  private async check(headers: IncomingHttpHeaders, body: string): Promise<[number, string]> {
    if (headers[":method"] !== "POST") return [405, "MethodNotAllowed"];
    const match = /^\/3\/device\/([^/]+)$/.exec(String(headers[":path"]));
    if (!match) return [404, "BadPath"];
    const token = match[1]!;
    const authorization = String(headers.authorization ?? "");
    if (!authorization.startsWith("bearer ")) return [403, "MissingProviderToken"];
    const jwt = authorization.slice("bearer ".length);
    try {
      const header = decodeProtectedHeader(jwt);
      if (header.alg !== "ES256" || header.kid !== this.keyId) return [403, "InvalidProviderToken"];
      const { payload } = await jwtVerify(jwt, this.publicKey, { algorithms: ["ES256"], issuer: this.teamId });
      if (typeof payload.iat !== "number" || Date.now() / 1000 - payload.iat > 3600) return [403, "ExpiredProviderToken"];
    } catch {
      return [403, "InvalidProviderToken"];
    }
    // VoIP pushes (calls) go to the app's `.voip` topic, as APNs requires.
    const voip = headers["apns-push-type"] === "voip";
    if (headers["apns-topic"] !== (voip ? `${this.topic}.voip` : this.topic)) return [400, "BadTopic"];
    if (headers["apns-push-type"] !== "alert" && !voip) return [400, "InvalidPushType"];
    if (!["5", "10"].includes(String(headers["apns-priority"]))) return [400, "BadPriority"];
    if (Buffer.byteLength(body) > 4096) return [413, "PayloadTooLarge"];
    if (!/^[0-9a-f]{64}$/.test(token)) return [400, "BadDeviceToken"];
    if (this.unregistered.has(token)) return [410, "Unregistered"];
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return [400, "BadPayload"];
    }
    const aps = payload.aps as { alert?: { title?: unknown; body?: unknown } } | undefined;
    if (typeof aps !== "object" || aps === null) return [400, "PayloadEmpty"];
    if (!voip && (typeof aps.alert?.title !== "string" || typeof aps.alert?.body !== "string")) return [400, "BadPayload"];
    const apnsHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) if (name.startsWith("apns-")) apnsHeaders[name] = String(value);
    this.received.add({ token, raw: body, payload, headers: apnsHeaders });
    return [200, ""];
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function apnsToken(): string {
  return randomBytes(32).toString("hex");
}

// ---- FCM ----------------------------------------------------------------------

export class FakeFcm {
  readonly received = new Recorder();
  readonly unregistered = new Set<string>();
  readonly projectId = "router-test";
  readonly clientEmail = "router@router-test.iam.gserviceaccount.com";
  readonly privateKeyPem: string;
  private readonly publicKey: KeyObject;
  private readonly issued = new Set<string>();
  private server!: Server;
  port = 0;
  tokenExchanges = 0;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.privateKeyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    this.publicKey = publicKey;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get tokenUrl(): string {
    return `${this.url}/token`;
  }

  serviceAccount(): Record<string, string> {
    return { type: "service_account", project_id: this.projectId, client_email: this.clientEmail, private_key: this.privateKeyPem, token_uri: this.tokenUrl };
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      void readBody(request).then((body) => this.handle(request, body, response));
    });
    this.port = await listen(this.server);
    return this;
  }

  private answer(response: ServerResponse, status: number, body: unknown): void {
    response.writeHead(status, { "content-type": "application/json; charset=UTF-8" });
    response.end(JSON.stringify(body));
  }

  private error(response: ServerResponse, code: number, status: string, message: string, errorCode?: string): void {
    this.answer(response, code, {
      error: {
        code,
        message,
        status,
        ...(errorCode ? { details: [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }] } : {}),
      },
    });
  }

  private async handle(request: IncomingMessage, body: string, response: ServerResponse): Promise<void> {
    if (request.method === "POST" && request.url === "/token") {
      const form = new URLSearchParams(body);
      if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") return this.answer(response, 400, { error: "unsupported_grant_type" });
      try {
        const { payload } = await jwtVerify(form.get("assertion") ?? "", this.publicKey, {
          algorithms: ["RS256"],
          issuer: this.clientEmail,
          audience: this.tokenUrl,
        });
        if (payload.scope !== "https://www.googleapis.com/auth/firebase.messaging") return this.answer(response, 400, { error: "invalid_scope" });
      } catch {
        return this.answer(response, 400, { error: "invalid_grant" });
      }
      const accessToken = `ya29.${randomBytes(24).toString("base64url")}`;
      this.issued.add(accessToken);
      this.tokenExchanges += 1;
      return this.answer(response, 200, { access_token: accessToken, expires_in: 3599, token_type: "Bearer" });
    }
    if (request.method !== "POST" || request.url !== `/v1/projects/${this.projectId}/messages:send`) {
      return this.error(response, 404, "NOT_FOUND", "no such method");
    }
    const authorization = request.headers.authorization ?? "";
    if (!authorization.startsWith("Bearer ") || !this.issued.has(authorization.slice(7))) {
      return this.error(response, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
    }
    if (!String(request.headers["content-type"]).startsWith("application/json")) return this.error(response, 400, "INVALID_ARGUMENT", "not json");
    if (Buffer.byteLength(body) > 4096 + 512) return this.error(response, 400, "INVALID_ARGUMENT", "Message is too big", "INVALID_ARGUMENT");
    let message: Record<string, unknown>;
    try {
      message = (JSON.parse(body) as { message: Record<string, unknown> }).message;
    } catch {
      return this.error(response, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
    }
    if (typeof message !== "object" || message === null) return this.error(response, 400, "INVALID_ARGUMENT", "message is required");
    const targets = ["token", "topic", "condition"].filter((k) => message[k] !== undefined);
    if (targets.length !== 1 || typeof message.token !== "string") return this.error(response, 400, "INVALID_ARGUMENT", "exactly one target", "INVALID_ARGUMENT");
    const data = message.data as Record<string, unknown> | undefined;
    if (data && Object.values(data).some((v) => typeof v !== "string")) {
      return this.error(response, 400, "INVALID_ARGUMENT", "data values must be strings", "INVALID_ARGUMENT");
    }
    if (this.unregistered.has(message.token)) return this.error(response, 404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED");
    this.received.add({ token: message.token, raw: body, payload: message });
    return this.answer(response, 200, { name: `projects/${this.projectId}/messages/${randomBytes(8).toString("hex")}` });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---- webhook ------------------------------------------------------------------

export class FakeWebhook {
  readonly received = new Recorder();
  readonly gone = new Set<string>();
  readonly secret = randomBytes(32).toString("hex");
  private server!: Server;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/push`;
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      void readBody(request).then((body) => {
        const timestamp = String(request.headers["x-router-timestamp"] ?? "");
        const signature = Buffer.from(String(request.headers["x-router-signature"] ?? ""));
        const expected = Buffer.from(`v1=${createHmac("sha256", this.secret).update(`${timestamp}.${body}`).digest("hex")}`);
        const fresh = Math.abs(Date.now() - Number(timestamp)) < 5 * 60_000;
        if (request.method !== "POST" || !fresh || signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
          response.writeHead(401).end();
          return;
        }
        const payload = JSON.parse(body) as Record<string, unknown>;
        if (this.gone.has(String(payload.token))) {
          response.writeHead(410).end();
          return;
        }
        this.received.add({ token: String(payload.token), raw: body, payload });
        response.writeHead(204).end();
      });
    });
    this.port = await listen(this.server);
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

