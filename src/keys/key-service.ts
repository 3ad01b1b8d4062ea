import type { UserMessage } from "../actors/messages.ts";
import type { TellIfActive } from "../seams.ts";
import type { ErrorCode, KeyBundle, KeysGetFrame, KeysPutFrame, ServerFrame } from "../protocol/frames.ts";
import { StorageUnavailableError } from "../storage/errors.ts";
import type { ClaimedBundle, KeyStore } from "../storage/keys.ts";
import type { RateLimits } from "../storage/rate-limits.ts";
import type { Logger } from "../util/logger.ts";
import { KEY_LIMITS } from "../protocol/validate-keys.ts";

/** Below this many one-time prekeys the owner is told to upload more (Signal warns at 10). */
export const DEFAULT_PREKEY_LOW_WATER = 10;

export interface KeyServiceDeps {
  /** Absent when the backend has no KeyStore yet. */
  store: KeyStore | undefined;
  /** Only live user actors: a `keys.low` for a user with no device online has nobody to reach. */
  users: TellIfActive<UserMessage>;
  log: Logger;
  lowWater?: number;
  /** Counts each requester's bundle fetches; Redis on a cluster, so the count is cluster-wide. */
  rateLimits: RateLimits;
  /**
   * Bundle fetches a user may make per window: each one uses up one of a device's prekeys.
   * `perTarget`: fetches of one user's bundles per window, whoever asks, that may take a
   * one-time prekey; beyond it the bundles come without one (see get()).
   */
  claims: { perWindow: number; windowMs: number; perTarget: number };
}

function toBundle(claimed: ClaimedBundle): KeyBundle {
  const bundle: KeyBundle = { device: claimed.device, identity: claimed.identity, signed: claimed.signed };
  if (claimed.prekey) bundle.prekey = claimed.prekey;
  if (claimed.kyber) bundle.kyber = claimed.kyber;
  if (claimed.reg !== undefined) bundle.reg = claimed.reg;
  return bundle;
}

/**
 * The prekey service. It needs no actor: the store makes each claim atomic on its own, and
 * keeping claims off the user's actor lets many callers fetch one popular user's bundles at once.
 * Each request resolves with the frame that answers it (`keys.ok`, `keys` or `err`): the session sends it.
 */
export class KeyService {
  private readonly lowWater: number;

  constructor(private readonly deps: KeyServiceDeps) {
    this.lowWater = deps.lowWater ?? DEFAULT_PREKEY_LOW_WATER;
  }

  async put(user: string, device: string, frame: KeysPutFrame): Promise<ServerFrame> {
    const store = this.deps.store;
    if (!store) return noStore(frame.r);
    try {
      const result = await store.put(
        user,
        device,
        { identity: frame.identity, signed: frame.signed, kyber: frame.kyber, reg: frame.reg },
        frame.prekeys,
        { maxPrekeys: KEY_LIMITS.maxPrekeysStored, lowWater: this.lowWater },
      );
      if (result.refused) {
        return fail(frame.r, "limit_exceeded", `a device holds at most ${KEY_LIMITS.maxPrekeysStored} one-time prekeys (it holds ${result.count})`);
      }
      return { t: "keys.ok", r: frame.r, count: result.count };
    } catch (error) {
      return this.failed(frame.r, "keys.put", error);
    }
  }

  async get(requester: string, frame: KeysGetFrame): Promise<ServerFrame> {
    const store = this.deps.store;
    if (!store) return noStore(frame.r);
    // Every fetch consumes one of the target's one-time prekeys: unchecked, anyone could drain
    // a user's supply and push their sessions onto the weaker signed-prekey-only handshake.
    const overLimit = await this.overClaimLimit(requester, frame.r);
    if (overLimit) return overLimit;
    // The requester limit alone lets many accounts together drain one user. Past the
    // target's own budget the fetch still succeeds, but without a one-time prekey (as when a
    // device runs out): sessions start from the signed prekey, and the supply left is kept
    // for the window after, when the owner has had time to hear `keys.low` and refill.
    const oneTime = await this.withinTargetLimit(frame.user);
    let claimed: ClaimedBundle[];
    try {
      claimed = await store.claim(frame.user, frame.device, { lowWater: this.lowWater, oneTime });
    } catch (error) {
      return this.failed(frame.r, "keys.get", error);
    }
    if (claimed.length === 0) {
      return fail(frame.r, "not_found", frame.device === undefined ? `${frame.user} has published no keys` : `${frame.user}/${frame.device} has published no keys`);
    }
    for (const bundle of claimed) {
      if (bundle.low) this.deps.users.tellIfActive(frame.user, { type: "keys.low", device: bundle.device, count: bundle.remaining });
    }
    return { t: "keys", r: frame.r, user: frame.user, bundles: claimed.map(toBundle) };
  }

  /** The `rate_limited` answer when `requester` is past their fetches for this window. */
  private async overClaimLimit(requester: string, r: number): Promise<ServerFrame | undefined> {
    const { perWindow, windowMs } = this.deps.claims;
    let decision;
    try {
      decision = await this.deps.rateLimits.hit(`keys.get:${requester}`, perWindow, windowMs);
    } catch (error) {
      // Fail open: a Redis outage must not stop people from starting encrypted chats.
      this.deps.log.warn({ err: error }, "prekey claim limit not checked: rate-limit store unavailable");
      return undefined;
    }
    if (decision.allowed) return undefined;
    return fail(r, "rate_limited", `at most ${perWindow} key bundle fetches per ${windowMs / 1000} s; retry in ${Math.ceil(decision.resetInMs / 1000)} s`);
  }

  private async withinTargetLimit(target: string): Promise<boolean> {
    const { perTarget, windowMs } = this.deps.claims;
    try {
      return (await this.deps.rateLimits.hit(`keys.claimed:${target}`, perTarget, windowMs)).allowed;
    } catch (error) {
      this.deps.log.warn({ err: error }, "prekey target limit not checked: rate-limit store unavailable");
      return true;
    }
  }

  private failed(r: number, what: string, error: unknown): ServerFrame {
    if (error instanceof StorageUnavailableError) {
      this.deps.log.warn({ err: error }, `${what} failed: storage unavailable`);
      return fail(r, "unavailable", "key storage is unavailable; retry");
    }
    this.deps.log.error({ err: error }, `${what} failed`);
    return fail(r, "internal", `${what} failed`);
  }
}

function fail(r: number, code: ErrorCode, msg: string): ServerFrame {
  return { t: "err", r, code, msg };
}

function noStore(r: number): ServerFrame {
  return fail(r, "unavailable", "this node's storage backend has no prekey service");
}
