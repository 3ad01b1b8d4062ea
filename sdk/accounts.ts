/**
 * Sign-up by phone number and refresh tokens over HTTP (docs/protocol.md, "Sign-up"). `base`
 * is the node's http(s)://host:port. What a mobile client does with its platform's HTTP stack.
 */

export class AccountError extends Error {
  constructor(
    readonly status: number,
    /** The server's error code: `invalid_phone`, `bad_code`, `rate_limited`, `refresh_reused`, ... */
    readonly code: string,
    message: string,
    /** Seconds to wait before trying again (429, 503). */
    readonly retryAfterSeconds?: number,
    /** `bad_code`: tries the code has left. */
    readonly triesLeft?: number,
  ) {
    super(`${status} ${code}: ${message}`);
  }
}

/** What sign-up and refresh hand a device: keep `refresh` in the platform's secure storage. */
export interface Session {
  user: string;
  device: string;
  /** The access token for `hello` and `Authorization: Bearer`. */
  token: string;
  refresh: string;
  /** Seconds the access token is good for. */
  expires_in: number;
  /** Sign-up only: true when this phone signed up just now. */
  new_user?: boolean;
}

async function post<T>(base: string, path: string, body: unknown, expected: number): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status === expected) return JSON.parse(text) as T;
  const retryAfter = response.headers.get("retry-after");
  try {
    const { error, message, tries_left } = JSON.parse(text) as { error: string; message: string; tries_left?: number };
    throw new AccountError(response.status, error, message, retryAfter === null ? undefined : Number(retryAfter), tries_left);
  } catch (error) {
    if (error instanceof AccountError) throw error;
    throw new AccountError(response.status, "http", text);
  }
}

/** Asks the server to text a 6-digit code to `phone` (E.164, e.g. +14155550100). */
export function startVerification(base: string, phone: string): Promise<{ expires_in: number }> {
  return post(base, "/v1/verify/start", { phone }, 202);
}

/** Trades the code for a session. Pass the device id the app already has, if any, to keep it. */
export function finishVerification(base: string, phone: string, code: string, device?: string): Promise<Session> {
  return post(base, "/v1/verify/finish", device === undefined ? { phone, code } : { phone, code, device }, 200);
}

/**
 * A new access token and the next refresh token; the old refresh token is spent. Store the new
 * one before using the access token: presenting a spent refresh token again signs the device out.
 */
export function refreshSession(base: string, refresh: string): Promise<Session> {
  return post(base, "/v1/token/refresh", { refresh }, 200);
}
