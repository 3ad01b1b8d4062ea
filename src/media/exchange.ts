import type { HttpResponse } from "../uws.ts";
import { InvalidTokenError, verifyToken } from "../auth/tokens.ts";
import type { Flow } from "./upload-sink.ts";

const STATUS = {
  200: "200 OK",
  201: "201 Created",
  206: "206 Partial Content",
  400: "400 Bad Request",
  401: "401 Unauthorized",
  403: "403 Forbidden",
  404: "404 Not Found",
  413: "413 Content Too Large",
  416: "416 Range Not Satisfiable",
  500: "500 Internal Server Error",
  501: "501 Not Implemented",
} as const;
export type Status = keyof typeof STATUS;

export function statusLine(status: Status): string {
  return STATUS[status];
}

const MAX_JSON_BODY = 4096;

/** A response's life: uWS forbids touching `res` once the client aborted or the response ended. */
export interface Exchange {
  res: HttpResponse;
  state: "open" | "ended" | "aborted";
  /** Runs if the client aborts: releases what the request holds (a staged upload, a file being read). */
  cleanup?: () => void;
}

export function begin(res: HttpResponse): Exchange {
  const exchange: Exchange = { res, state: "open" };
  res.onAborted(() => {
    exchange.state = "aborted";
    exchange.cleanup?.();
  });
  return exchange;
}

/** Whether the response may still be written to. */
export function open(exchange: Exchange): boolean {
  return exchange.state === "open";
}

export function respond(exchange: Exchange, status: Status, body: unknown, headers: Record<string, string> = {}, close = false): void {
  if (!open(exchange)) return;
  exchange.state = "ended";
  exchange.res.cork(() => {
    exchange.res.writeStatus(STATUS[status]).writeHeader("content-type", "application/json");
    for (const [name, value] of Object.entries(headers)) exchange.res.writeHeader(name, value);
    // An early refusal leaves the request body unread: closing is the only way not to read it.
    if (close) exchange.res.writeHeader("connection", "close");
    exchange.res.end(JSON.stringify(body), close);
  });
}

export function fail(exchange: Exchange, status: Status, code: string, msg: string, close = false, headers: Record<string, string> = {}): void {
  respond(exchange, status, { code, msg }, headers, close);
}

/** Every route answers a missing, bad or revoked token alike, with the challenge RFC 6750 asks for. */
export function refuseUnauthenticated(exchange: Exchange, close = false): void {
  fail(exchange, 401, "unauthorized", "a valid `Authorization: Bearer <token>` is required", close, { "www-authenticate": "Bearer" });
}

/** The socket's pause and resume for a request body, each done once and never after the response ended. */
export function socketFlow(exchange: Exchange): Flow {
  let paused = false;
  const toggle = (pause: boolean) => {
    if (paused === pause || !open(exchange)) return;
    paused = pause;
    if (pause) exchange.res.pause();
    else exchange.res.resume();
  };
  return { pause: () => toggle(true), resume: () => toggle(false) };
}

export interface TokenCheck {
  secret: string;
  /** Token revocations (`router token revoke`): a revoked token is refused here as at `hello`. */
  revocations?: { isRevoked(user: string, device: string | undefined, issuedAt: number): boolean };
}

function bearer(header: string): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** The user an `Authorization` header names, or undefined for a missing, bad or revoked token. */
export async function authenticate(check: TokenCheck, header: string): Promise<string | undefined> {
  const token = bearer(header);
  if (!token) return undefined;
  try {
    const claims = await verifyToken(check.secret, token);
    // An HTTP request names no device: a device's revocation applies to tokens bound to it.
    return check.revocations?.isRevoked(claims.user, claims.device, claims.issuedAt) ? undefined : claims.user;
  } catch (error) {
    if (error instanceof InvalidTokenError) return undefined;
    throw error;
  }
}

/** Reads a small JSON request body (presign requests), refusing anything large. */
export function readJson(exchange: Exchange, onBody: (value: unknown) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  exchange.res.onData((chunk, isLast) => {
    if (!open(exchange)) return;
    size += chunk.byteLength;
    if (size > MAX_JSON_BODY) {
      fail(exchange, 413, "too_large", `JSON bodies are at most ${MAX_JSON_BODY} bytes`, true);
      return;
    }
    chunks.push(Buffer.from(new Uint8Array(chunk)));
    if (!isLast) return;
    try {
      onBody(size === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString("utf8")));
    } catch {
      fail(exchange, 400, "bad_request", "the body is not JSON");
    }
  });
}
