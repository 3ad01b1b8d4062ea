/**
 * What a client does after its connection closes, by close code (docs/protocol.md, Close
 * codes), and how long it waits before trying again. Pure functions, so the policy is tested
 * without a socket.
 */

export type CloseAction =
  /** Try again after the backoff delay. */
  | "reconnect"
  /** Get a new token first (4001), then reconnect. */
  | "renew_token"
  /** Do not reconnect: another connection replaced this one, too many devices, a client bug. */
  | "stop";

export function actionForClose(code: number): CloseAction {
  switch (code) {
    case 4001:
      return "renew_token";
    case 4009: // replaced by a newer connection of this device
    case 4011: // too many devices: the user must disconnect one
    case 1007: // bytes that were not MessagePack: retrying sends them again
    case 1009: // a frame over the size limit: likewise
      return "stop";
    default:
      // 1001 draining, 1006 dropped, 4008 hello timeout, 4010 slow consumer, anything unknown.
      return "reconnect";
  }
}

export interface BackoffOptions {
  /** Delay before the first retry. Default 250 ms. */
  initialDelayMs?: number;
  /** The longest delay. Default 30 s. */
  maxDelayMs?: number;
  /** Each failed attempt multiplies the delay by this. Default 2. */
  factor?: number;
}

/**
 * "Full jitter" (a random delay between 0 and the exponential cap): a node that restarts is not
 * hit by all its clients at the same instant. `attempt` counts from 0; `random` is in [0, 1).
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: number = Math.random()): number {
  const initial = options.initialDelayMs ?? 250;
  const max = options.maxDelayMs ?? 30_000;
  const factor = options.factor ?? 2;
  const cap = Math.min(max, initial * factor ** Math.min(attempt, 64));
  // Never zero: a tight loop against a refusing node helps nobody.
  return Math.max(initial / 4, Math.floor(cap * random));
}

/**
 * When a token expires, in ms since the epoch, read from its JWT `exp` claim; undefined for a
 * token that is not a JWT or never expires. The client does not verify it: the server does.
 */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(payload.length / 4) * 4, "="));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
