import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from "node:crypto";

/** Six digits, uniformly drawn. */
export function newCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, "0");
}

export const CODE_PATTERN = /^[0-9]{6}$/;

/**
 * A code's stored form. Keyed with the node secret: a million codes are hashed in a blink, so
 * a plain hash would give a leaked table's codes away; the phone and the code's id bind it to
 * one sending.
 */
export function codeHash(secret: string, phone: string, codeId: string, code: string): string {
  return createHmac("sha256", secret).update(`verify-code\0${phone}\0${codeId}\0${code}`).digest("hex");
}

/** Constant-time comparison of two hex digests. */
export function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a, "hex");
  const right = Buffer.from(b, "hex");
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

export function randomId(bytes = 16): string {
  return randomBytes(bytes).toString("hex");
}

/** A user's id: random, so it tells nothing about the phone (the phone stays for discovery only). */
export function newUserId(): string {
  return `u${randomBytes(12).toString("hex")}`;
}

export function newDeviceId(): string {
  return `d${randomBytes(8).toString("hex")}`;
}

/**
 * Refresh tokens are `<family>.<secret>`: 128 bits naming the device's family, 256 random bits.
 * Only SHA-256 of the whole token is stored (256 random bits need no key), and the family in
 * clear lets an old token find its family, which is how a second use is recognised.
 */
export interface RefreshToken {
  token: string;
  family: string;
  hash: string;
}

const REFRESH_PATTERN = /^([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/;

export function newRefreshToken(family = randomId()): RefreshToken {
  const token = `${family}.${randomBytes(32).toString("base64url")}`;
  return { token, family, hash: refreshHash(token) };
}

export function refreshHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function parseRefreshToken(token: unknown): { family: string; hash: string } | undefined {
  if (typeof token !== "string") return undefined;
  const match = REFRESH_PATTERN.exec(token);
  return match?.[1] ? { family: match[1], hash: refreshHash(token) } : undefined;
}
