import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from "node:crypto";

/**
 * HS256 JWTs with node:crypto and a cached key: jose goes through WebCrypto (a key import and
 * an async verify per token), which cost a reconnect storm a third of the router's CPU.
 * Verification here only ever says yes to a token jose would accept, with the same claims;
 * anything else (a wrong signature, a non-canonical encoding, `crit`, a claim out of time or
 * of the wrong type) returns undefined, and the caller asks jose for the exact verdict.
 */

const HEADER = "eyJhbGciOiJIUzI1NiJ9"; // base64url of {"alg":"HS256"}, the header signToken writes
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

let cachedSecret: string | undefined;
let cachedKey: KeyObject | undefined;

function keyOf(secret: string): KeyObject {
  if (secret !== cachedSecret || !cachedKey) {
    cachedKey = createSecretKey(Buffer.from(secret, "utf8"));
    cachedSecret = secret;
  }
  return cachedKey;
}

function signatureOf(secret: string, signingInput: string): string {
  return createHmac("sha256", keyOf(secret)).update(signingInput).digest("base64url");
}

export function fastHs256Sign(secret: string, payload: Record<string, unknown>): string {
  const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(payload), "utf8").toString("base64url")}`;
  return `${signingInput}.${signatureOf(secret, signingInput)}`;
}

/** A segment's JSON if it is canonical base64url of a UTF-8 JSON object, as jose would read it. */
function jsonObjectOf(segment: string): Record<string, unknown> | undefined {
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) return undefined;
  try {
    const parsed: unknown = JSON.parse(strictUtf8.decode(Buffer.from(segment, "base64url")));
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** jose's checks of `iat`, `nbf` and `exp` without options: numbers when present, in time. */
function timesHold(claims: Record<string, unknown>, nowMs: number): boolean {
  const now = Math.floor(nowMs / 1000);
  const { iat, nbf, exp } = claims;
  if (iat !== undefined && typeof iat !== "number") return false;
  if (nbf !== undefined && (typeof nbf !== "number" || nbf > now)) return false;
  if (exp !== undefined && (typeof exp !== "number" || exp <= now)) return false;
  return true;
}

/**
 * The payload of an HS256 JWT that is surely valid under jose's `jwtVerify(token, secret,
 * { algorithms: ["HS256"] })`, or undefined when it is not surely so.
 */
export function fastHs256Payload(secret: string, token: string, nowMs: number): Record<string, unknown> | undefined {
  if (secret === "") return undefined;
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  const expected = signatureOf(secret, `${header}.${payload}`);
  if (signature.length !== expected.length || !timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) return undefined;
  if (header !== HEADER) {
    const protectedHeader = jsonObjectOf(header);
    if (!protectedHeader || protectedHeader.alg !== "HS256" || protectedHeader.crit !== undefined) return undefined;
  }
  const claims = jsonObjectOf(payload);
  if (!claims || !timesHold(claims, nowMs)) return undefined;
  return claims;
}
