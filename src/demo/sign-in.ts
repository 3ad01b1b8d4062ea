import type { Answer } from "../accounts/service.ts";
import { signToken } from "../auth/tokens.ts";
import type { RateLimits } from "../storage/rate-limits.ts";

/**
 * Every demo user id starts with this, so a demo left on by mistake can mint tokens only for
 * demo users, never for an account made by sign-up or `router token`.
 */
export const DEMO_USER_PREFIX = "demo.";

/** Names people type: short, and safe to show anywhere without escaping surprises. */
const NAME = /^[a-z0-9][a-z0-9_-]{0,23}$/;

/** Long enough for a demo session; the page asks again (one more sign-in) when it runs out. */
export const DEMO_TOKEN_TTL_SECONDS = 12 * 3600;

const WINDOW_MS = 60_000;

export interface DemoSignInOptions {
  secret: string;
  rateLimits: RateLimits;
  signInsPerMinute: number;
}

/**
 * `POST /demo/token {name}`: a development token for `demo.<name>`, no password asked. Only
 * registered when the demo is on (ROUTER_DEMO=1).
 */
export class DemoSignIn {
  constructor(private readonly options: DemoSignInOptions) {}

  async signIn(body: unknown, address: string): Promise<Answer> {
    const raw = typeof body === "object" && body !== null ? (body as Record<string, unknown>).name : undefined;
    const name = typeof raw === "string" ? raw.trim().toLowerCase() : "";
    if (!NAME.test(name)) {
      return refuse(400, "invalid_name", "a name is 1-24 characters of a-z, 0-9, _ and -, starting with a letter or digit");
    }
    const decision = await this.options.rateLimits.hit(`demo-sign-in:${address}`, this.options.signInsPerMinute, WINDOW_MS);
    if (!decision.allowed) {
      return { ...refuse(429, "rate_limited", "too many sign-ins from this address; wait a minute"), retryAfterSeconds: Math.ceil(decision.resetInMs / 1000) };
    }
    const user = `${DEMO_USER_PREFIX}${name}`;
    const token = await signToken(this.options.secret, { user }, DEMO_TOKEN_TTL_SECONDS);
    return { status: 200, body: { user, token, expires_in: DEMO_TOKEN_TTL_SECONDS } };
  }
}

function refuse(status: number, error: string, message: string): Answer {
  return { status, body: { error, message } };
}
