import { signToken } from "../auth/tokens.ts";
import { DEVICE_ID_PATTERN } from "../protocol/frames.ts";
import { StorageUnavailableError } from "../storage/errors.ts";
import type { RateLimits } from "../storage/rate-limits.ts";
import type { Logger } from "../util/logger.ts";
import type { SignupConfig } from "../config/signup.ts";
import { maskPhone, normalisePhone } from "./phone.ts";
import { CODE_PATTERN, codeHash, newCode, newDeviceId, newRefreshToken, newUserId, parseRefreshToken, randomId, sameDigest } from "./secrets.ts";
import { SmsError, type SmsSender } from "./sms/sender.ts";
import type { AccountStore } from "../storage/accounts.ts";
import type { Clock } from "../util/clock.ts";

/** What a route answers: a status and a JSON body, plus Retry-After for 429s. */
export interface Answer {
  status: number;
  body: Record<string, unknown>;
  retryAfterSeconds?: number;
}

export interface AccountHooks {
  /**
   * A refresh token was used twice: someone holds a copy of this device's tokens. The family is
   * revoked already; this hook is where the node ends what the device's access tokens can do.
   */
  onDeviceCompromised(user: string, device: string): void;
}

export interface AccountServiceDeps {
  store: AccountStore;
  /** Absent: sign-up is off (`/v1/verify/*` answer 404); refresh still works for tokens already out. */
  sender?: SmsSender;
  rateLimits: RateLimits;
  /** The node's HS256 secret: signs access tokens and keys code hashes. */
  secret: string;
  config: SignupConfig;
  log: Logger;
  hooks: AccountHooks;
  /** Code and refresh-token lifetimes read it. */
  clock: Clock;
}

function failure(status: number, error: string, message: string, extra: Record<string, unknown> = {}, retryAfterSeconds?: number): Answer {
  return { status, body: { error, message, ...extra }, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) };
}

function fields(body: unknown): Record<string, unknown> | undefined {
  return typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * Sign-up by phone number and refresh-token rotation (docs/protocol.md, "Sign-up"). HTTP-free:
 * src/accounts/http.ts parses requests and writes the answers.
 */
export class AccountService {
  constructor(private readonly deps: AccountServiceDeps) {}

  private now(): number {
    return this.deps.clock.now();
  }

  get signupEnabled(): boolean {
    return this.deps.sender !== undefined;
  }

  /** `POST /v1/verify/start {phone}`: sends a code and answers 202. */
  async start(body: unknown, address: string): Promise<Answer> {
    const { config, sender, store, log } = this.deps;
    if (!sender) return disabled();
    const phone = normalisePhone(fields(body)?.phone);
    if (!phone) return invalidPhone();
    const limited = (await this.limit(`signup:addr:${address}`, config.requestsPerAddress, config.addressWindowMs, true)) ??
      (await this.limit(`signup:start:${phone}`, config.startsPerPhone, config.startWindowMs, true));
    if (limited) return limited;

    const code = newCode();
    const id = randomId();
    const expiresAt = this.now() + config.codeTtlMs;
    await store.putCode(phone, { id, hash: codeHash(this.deps.secret, phone, id, code), expiresAt });
    const minutes = Math.max(1, Math.round(config.codeTtlMs / 60_000));
    try {
      await sender.send({ to: phone, code, expiresAt, text: `Your verification code is ${code}. It expires in ${minutes} minute${minutes === 1 ? "" : "s"}.` });
    } catch (error) {
      if (error instanceof SmsError && error.badNumber) {
        return failure(400, "invalid_phone", "the SMS provider cannot send to this number");
      }
      log.warn({ err: error instanceof SmsError ? error.message : error, sender: sender.kind, phone: maskPhone(phone) }, "sms send failed");
      return failure(502, "sms_failed", "the code could not be sent; try again later");
    }
    log.info({ phone: maskPhone(phone), sender: sender.kind }, "verification code sent");
    return { status: 202, body: { expires_in: seconds(config.codeTtlMs) } };
  }

  /** `POST /v1/verify/finish {phone, code, device?}`: checks the code, answers tokens. */
  async finish(body: unknown, address: string): Promise<Answer> {
    const { config, store } = this.deps;
    if (!this.deps.sender) return disabled();
    const request = fields(body);
    const phone = normalisePhone(request?.phone);
    if (!phone) return invalidPhone();
    const code = request?.code;
    if (typeof code !== "string" || !CODE_PATTERN.test(code)) return failure(400, "invalid_code", "`code` must be the 6 digits sent by SMS");
    const device = request?.device;
    if (device !== undefined && (typeof device !== "string" || !DEVICE_ID_PATTERN.test(device))) {
      return failure(400, "invalid_device", "`device` must be 1-64 characters of A-Za-z0-9_.@+-");
    }
    const limited = await this.limit(`signup:addr:${address}`, config.requestsPerAddress, config.addressWindowMs, false);
    if (limited) return limited;

    const now = this.now();
    const attempt = await store.attemptCode(phone, config.codeAttempts, now);
    switch (attempt.kind) {
      case "none":
        return failure(401, "no_code", "no code is pending for this phone: start again");
      case "expired":
        return failure(410, "code_expired", "the code expired: start again for a new one");
      case "exhausted":
        return failure(429, "too_many_tries", "this code allows no more tries: start again for a new one", {}, seconds(attempt.code.expiresAt - now));
      case "counted":
        break;
    }
    const pending = attempt.code;
    if (!sameDigest(pending.hash, codeHash(this.deps.secret, phone, pending.id, code))) {
      return failure(401, "bad_code", "the code is not the one sent", { tries_left: Math.max(0, config.codeAttempts - pending.attempts) });
    }
    // Of two finishes with the right code at once, one signs in.
    if (!(await store.redeemCode(phone, pending.id))) return failure(401, "no_code", "the code was used already: start again");

    const { user, created } = await store.userForPhone(phone, newUserId(), now);
    const signedIn = await this.issue(user, typeof device === "string" ? device : newDeviceId());
    this.deps.log.info({ user, device: signedIn.device, created }, "signed in by phone");
    return { status: 200, body: { ...signedIn, new_user: created } };
  }

  /** `POST /v1/token/refresh {refresh}`: a new access token and the next refresh token. */
  async refresh(body: unknown, address: string): Promise<Answer> {
    const { config, store, log } = this.deps;
    const parsed = parseRefreshToken(fields(body)?.refresh);
    if (!parsed) return failure(400, "invalid_refresh", "`refresh` must be a refresh token as sign-up or refresh answered it");
    const limited = await this.limit(`refresh:addr:${address}`, config.requestsPerAddress, config.addressWindowMs, false);
    if (limited) return limited;

    const now = this.now();
    const next = newRefreshToken(parsed.family);
    const expiresAt = now + config.refreshTokenTtlSeconds * 1000;
    const result = await store.rotateRefresh(parsed.family, parsed.hash, next.hash, expiresAt, now);
    switch (result.kind) {
      case "unknown":
        return failure(401, "bad_refresh", "unknown refresh token: sign in again");
      case "expired":
        return failure(401, "refresh_expired", "the refresh token expired: sign in again");
      case "revoked":
        return failure(401, "refresh_revoked", "this device's refresh tokens were revoked: sign in again");
      case "reused":
        log.warn({ user: result.user, device: result.device }, "refresh token reused; device revoked");
        this.deps.hooks.onDeviceCompromised(result.user, result.device);
        return failure(401, "refresh_reused", "this refresh token was used before: the device's tokens are revoked; sign in again");
      case "rotated":
        break;
    }
    const token = await signToken(this.deps.secret, { user: result.user, device: result.device }, config.accessTokenTtlSeconds);
    return {
      status: 200,
      body: { user: result.user, device: result.device, token, refresh: next.token, expires_in: config.accessTokenTtlSeconds },
    };
  }

  private async issue(user: string, device: string): Promise<{ user: string; device: string; token: string; refresh: string; expires_in: number }> {
    const { config } = this.deps;
    const refresh = newRefreshToken();
    await this.deps.store.issueRefresh({
      family: refresh.family,
      user,
      device,
      hash: refresh.hash,
      expiresAt: this.now() + config.refreshTokenTtlSeconds * 1000,
    });
    const token = await signToken(this.deps.secret, { user, device }, config.accessTokenTtlSeconds);
    return { user, device, token, refresh: refresh.token, expires_in: config.accessTokenTtlSeconds };
  }

  /**
   * Counts one request against a limit; an answer when over it. When the shared counters
   * cannot be reached, sending texts fails closed (each costs money and can be abused) and
   * everything else fails open (tries are also counted per code in the store).
   */
  private async limit(key: string, limit: number, windowMs: number, failClosed: boolean): Promise<Answer | undefined> {
    try {
      const decision = await this.deps.rateLimits.hit(key, limit, windowMs);
      if (decision.allowed) return undefined;
      return failure(429, "rate_limited", "too many requests: try again later", {}, seconds(decision.resetInMs));
    } catch (error) {
      if (!(error instanceof StorageUnavailableError)) throw error;
      this.deps.log.warn({ err: error.message, failClosed }, "sign-up rate limits unavailable");
      if (failClosed) return failure(503, "unavailable", "try again later", {}, 5);
      return undefined;
    }
  }
}

function disabled(): Answer {
  return failure(404, "signup_disabled", "sign-up by phone is not enabled on this server");
}

function invalidPhone(): Answer {
  return failure(400, "invalid_phone", "`phone` must be an E.164 number: + country code and number, at most 15 digits");
}
