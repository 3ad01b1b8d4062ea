import type { UserMessage } from "../actors/messages.ts";
import type { ClientLink, ConnectionRef, TellIfActive } from "../seams.ts";
import type { ErrorCode, KeyBundle, KeysGetFrame, KeysPutFrame } from "../protocol/frames.ts";
import { StorageUnavailableError, type ClaimedBundle, type KeyStore, type RateLimits } from "../storage/types.ts";
import type { Logger } from "../util/logger.ts";
import { KEY_LIMITS } from "../protocol/validate-keys.ts";

/** Below this many one-time prekeys the owner is told to upload more (Signal warns at 10). */
export const DEFAULT_PREKEY_LOW_WATER = 10;

export interface KeyServiceDeps {
  /** Absent when the backend has no KeyStore yet. */
  store: KeyStore | undefined;
  link: ClientLink;
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
 */
export class KeyService {
  private readonly lowWater: number;

  constructor(private readonly deps: KeyServiceDeps) {
    this.lowWater = deps.lowWater ?? DEFAULT_PREKEY_LOW_WATER;
  }

  async put(conn: ConnectionRef, user: string, device: string, frame: KeysPutFrame): Promise<void> {
    const store = this.store(conn, frame.r);
    if (!store) return;
    try {
      const result = await store.put(
        user,
        device,
        { identity: frame.identity, signed: frame.signed, kyber: frame.kyber, reg: frame.reg },
        frame.prekeys,
        { maxPrekeys: KEY_LIMITS.maxPrekeysStored, lowWater: this.lowWater },
      );
      if (result.refused) {
        this.fail(conn, frame.r, "limit_exceeded", `a device holds at most ${KEY_LIMITS.maxPrekeysStored} one-time prekeys (it holds ${result.count})`);
        return;
      }
      this.deps.link.send(conn, { t: "keys.ok", r: frame.r, count: result.count });
    } catch (error) {
      this.failed(conn, frame.r, "keys.put", error);
    }
  }

  async get(conn: ConnectionRef, requester: string, frame: KeysGetFrame): Promise<void> {
    const store = this.store(conn, frame.r);
    if (!store) return;
    // Every fetch consumes one of the target's one-time prekeys: unchecked, anyone could drain
    // a user's supply and push their sessions onto the weaker signed-prekey-only handshake.
    if (!(await this.withinClaimLimit(conn, requester, frame.r))) return;
    // The requester limit alone lets many accounts together drain one user. Past the
    // target's own budget the fetch still succeeds, but without a one-time prekey (as when a
    // device runs out): sessions start from the signed prekey, and the supply left is kept
    // for the window after, when the owner has had time to hear `keys.low` and refill.
    const oneTime = await this.withinTargetLimit(frame.user);
    let claimed: ClaimedBundle[];
    try {
      claimed = await store.claim(frame.user, frame.device, { lowWater: this.lowWater, oneTime });
    } catch (error) {
      this.failed(conn, frame.r, "keys.get", error);
      return;
    }
    if (claimed.length === 0) {
      this.fail(conn, frame.r, "not_found", frame.device === undefined ? `${frame.user} has published no keys` : `${frame.user}/${frame.device} has published no keys`);
      return;
    }
    this.deps.link.send(conn, { t: "keys", r: frame.r, user: frame.user, bundles: claimed.map(toBundle) });
    for (const bundle of claimed) {
      if (bundle.low) this.deps.users.tellIfActive(frame.user, { type: "keys.low", device: bundle.device, count: bundle.remaining });
    }
  }

  private async withinClaimLimit(conn: ConnectionRef, requester: string, r: number): Promise<boolean> {
    const { perWindow, windowMs } = this.deps.claims;
    let decision;
    try {
      decision = await this.deps.rateLimits.hit(`keys.get:${requester}`, perWindow, windowMs);
    } catch (error) {
      // Fail open: a Redis outage must not stop people from starting encrypted chats.
      this.deps.log.warn({ err: error }, "prekey claim limit not checked: rate-limit store unavailable");
      return true;
    }
    if (decision.allowed) return true;
    this.fail(conn, r, "rate_limited", `at most ${perWindow} key bundle fetches per ${windowMs / 1000} s; retry in ${Math.ceil(decision.resetInMs / 1000)} s`);
    return false;
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

  private store(conn: ConnectionRef, r: number): KeyStore | undefined {
    if (!this.deps.store) this.fail(conn, r, "unavailable", "this node's storage backend has no prekey service");
    return this.deps.store;
  }

  private failed(conn: ConnectionRef, r: number, what: string, error: unknown): void {
    if (error instanceof StorageUnavailableError) {
      this.deps.log.warn({ err: error }, `${what} failed: storage unavailable`);
      this.fail(conn, r, "unavailable", "key storage is unavailable; retry");
    } else {
      this.deps.log.error({ err: error }, `${what} failed`);
      this.fail(conn, r, "internal", `${what} failed`);
    }
  }

  private fail(conn: ConnectionRef, r: number, code: ErrorCode, msg: string): void {
    this.deps.link.send(conn, { t: "err", r, code, msg });
  }
}
