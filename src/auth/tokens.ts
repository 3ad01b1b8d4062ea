import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SignJWT, errors, jwtVerify } from "jose";
import { DEVICE_ID_PATTERN, isUserId } from "../protocol/frames.ts";

export interface TokenClaims {
  user: string;
  /** When set, the token is only good for this device. */
  device?: string;
}

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
  const jwt = new SignJWT(claims.device ? { dev: claims.device } : {})
    .setProtectedHeader({ alg: ALGORITHM })
    .setSubject(claims.user)
    .setIssuedAt();
  if (ttlSeconds > 0) jwt.setExpirationTime(`${ttlSeconds}s`);
  return jwt.sign(keyOf(secret));
}

export async function verifyToken(secret: string, token: string): Promise<TokenClaims> {
  try {
    const { payload } = await jwtVerify(token, keyOf(secret), { algorithms: [ALGORITHM] });
    if (!isUserId(payload.sub)) throw new InvalidTokenError("token subject is not a user id");
    const device = typeof payload.dev === "string" ? payload.dev : undefined;
    return { user: payload.sub, device };
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

export function readSecret(dataDir: string): string {
  const path = join(dataDir, SECRET_FILE);
  if (!existsSync(path)) {
    throw new Error(`no secret in ${dataDir}: start a node there once, or pass --secret / ROUTER_SECRET`);
  }
  return readFileSync(path, "utf8").trim();
}
