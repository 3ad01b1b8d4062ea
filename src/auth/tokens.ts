import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SignJWT, errors, jwtVerify } from "jose";
import { DEVICE_ID_PATTERN, isUserId } from "../protocol/frames.ts";
import { fastHs256Payload, fastHs256Sign } from "./hs256.ts";

export interface TokenClaims {
  user: string;
  /** When set, the token is only good for this device. */
  device?: string;
}

/** What a verified token says, with its lifetime: a connection closes at `expiresAt`. */
export interface VerifiedToken extends TokenClaims {
  /** ms since the epoch; 0 when the token has no `iat` (it predates every revocation check). */
  issuedAt: number;
  /** ms since the epoch; undefined when the token never expires. */
  expiresAt?: number;
}

/** Longer tokens are refused unread: ours are ~200 characters. */
export const MAX_TOKEN_LENGTH = 4096;

export class InvalidTokenError extends Error {
  override readonly name = "InvalidTokenError";
}

const ALGORITHM = "HS256";
const SECRET_FILE = "secret";

function keyOf(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

export async function signToken(secret: string, claims: TokenClaims, ttlSeconds: number): Promise<string> {
  if (!isUserId(claims.user)) throw new InvalidTokenError("user ids are 1-64 characters of A-Za-z0-9_.@+-");
  if (claims.device !== undefined && !DEVICE_ID_PATTERN.test(claims.device)) {
    throw new InvalidTokenError("device ids are 1-64 characters of A-Za-z0-9_.@+-");
  }
  // `iat` keeps milliseconds (RFC 7519 allows a fractional NumericDate): a revocation voids
  // tokens issued at or before it, and in whole seconds a token issued just after a revocation
  // would be caught by it.
  // jose refuses a zero-length key with its own error: left to it.
  if (secret === "") return new SignJWT({}).setProtectedHeader({ alg: ALGORITHM }).sign(keyOf(secret));
  // The claims in the order jose's SignJWT writes them; node:crypto signs them ~30x cheaper.
  const now = Date.now();
  const payload: Record<string, unknown> = claims.device ? { dev: claims.device } : {};
  payload.sub = claims.user;
  payload.iat = now / 1000;
  if (ttlSeconds > 0) payload.exp = Math.floor(now / 1000) + ttlSeconds;
  return fastHs256Sign(secret, payload);
}

/** jose's verification of an HS256 JWT, with its verdicts and messages: the reference the fast path defers to. */
async function joseVerify(secret: string, token: string): Promise<Record<string, unknown>> {
  const { payload } = await jwtVerify(token, keyOf(secret), { algorithms: [ALGORITHM] });
  return payload;
}

export async function verifyToken(secret: string, token: string): Promise<VerifiedToken> {
  if (token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError(`tokens are at most ${MAX_TOKEN_LENGTH} characters`);
  try {
    // Every hello verifies a token: the plain case is checked directly; whatever it is not
    // sure of (a bad signature, an expired or odd token) goes to jose for the verdict.
    const payload = fastHs256Payload(secret, token, Date.now()) ?? (await joseVerify(secret, token));
    if (!isUserId(payload.sub)) throw new InvalidTokenError("token subject is not a user id");
    // A `dev` claim that is not a device id must not pass as "no device binding".
    const dev: unknown = payload.dev;
    if (dev !== undefined && (typeof dev !== "string" || !DEVICE_ID_PATTERN.test(dev))) {
      throw new InvalidTokenError("token device is not a device id");
    }
    return {
      user: payload.sub,
      device: dev,
      issuedAt: typeof payload.iat === "number" ? Math.round(payload.iat * 1000) : 0,
      expiresAt: typeof payload.exp === "number" ? Math.round(payload.exp * 1000) : undefined,
    };
  } catch (error) {
    if (error instanceof InvalidTokenError) throw error;
    if (error instanceof errors.JOSEError || error instanceof TypeError) {
      throw new InvalidTokenError(error instanceof errors.JWTExpired ? "token expired" : "token rejected");
    }
    throw error;
  }
}

/**
 * The embedded default needs no configuration: the first start writes a random secret into
 * the data directory, and `router token --data DIR` reads the same file.
 */
export function loadOrCreateSecret(dataDir: string): string {
  const path = join(dataDir, SECRET_FILE);
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  // Owner-only, like the rest of the data directory (the node creates it so before this).
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString("hex");
  writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: "wx" });
  return secret;
}

/** The data directory holds no token secret: the operator must name one (exit status 2 from the CLI). */
export class NoSecretError extends Error {
  override readonly name = "NoSecretError";
}

export function readSecret(dataDir: string): string {
  const path = join(dataDir, SECRET_FILE);
  if (!existsSync(path)) {
    throw new NoSecretError(`no secret in ${dataDir}: start a node there once, or pass --secret / ROUTER_SECRET`);
  }
  return readFileSync(path, "utf8").trim();
}
