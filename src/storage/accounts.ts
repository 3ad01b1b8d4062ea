/**
 * The accounts seam: phone numbers to user ids, pending verification codes and refresh-token
 * families. LMDB (src/storage/lmdb/account-store.ts) and CQL (src/storage/cql/account-store.ts) implement it;
 * test/storage/accounts-contract.ts holds both to the same behaviour.
 *
 * Unlike the chat stores there is no single writer per key here (any node may serve any HTTP
 * request), so every read-modify-write is atomic in the store itself: an LMDB transaction, a
 * CQL lightweight transaction.
 */

/** A code sent to a phone, as stored: never the code itself. */
export interface PendingCode {
  /** Random; tells this code from the one a later `start` replaced it with. */
  id: string;
  /** Keyed hash of the code (src/accounts/secrets.ts). */
  hash: string;
  /** ms since the epoch. */
  expiresAt: number;
  /** Tries counted against this code so far. */
  attempts: number;
}

export type CodeAttempt =
  | { kind: "none" }
  | { kind: "expired" }
  /** Every allowed try was used: the code is dead until it expires or a new one replaces it. */
  | { kind: "exhausted"; code: PendingCode }
  /** This try was counted (`code.attempts` includes it); the caller compares the code now. */
  | { kind: "counted"; code: PendingCode };

/**
 * A device's refresh-token family: one per sign-in of a device, holding the one token of it
 * that may be used next. The family id travels inside each of its tokens (src/accounts/secrets.ts),
 * so an old token finds its family without the store keeping every token ever issued.
 */
export interface RefreshIssue {
  family: string;
  user: string;
  device: string;
  /** SHA-256 (hex) of the opaque token handed to the device. */
  hash: string;
  /** ms since the epoch. */
  expiresAt: number;
}

export type RefreshRotation =
  | { kind: "rotated"; user: string; device: string }
  /** No such token (never issued, or long gone). */
  | { kind: "unknown" }
  | { kind: "expired" }
  /** The family was revoked: a reuse was detected, or the device was revoked. */
  | { kind: "revoked" }
  /**
   * The token had already been used: someone holds a copy. The whole family is now revoked,
   * so neither copy can refresh again; the device must sign in anew.
   */
  | { kind: "reused"; user: string; device: string };

export interface AccountStore {
  /**
   * The user id of `phone`, creating it as `candidate` if the phone has none. Race-free: of two
   * first sign-ups at once, both get the same id. `created` says whether `candidate` won.
   */
  userForPhone(phone: string, candidate: string, now: number): Promise<{ user: string; created: boolean }>;
  /** Discovery: the user id a phone signed up as, if any. */
  findUser(phone: string): Promise<string | undefined>;
  /** The phone a user signed up with (account deletion removes the mapping). */
  phoneOf(user: string): Promise<string | undefined>;

  /** Stores a new code for `phone`, replacing any pending one (its tries start over). */
  putCode(phone: string, code: Omit<PendingCode, "attempts">): Promise<void>;
  /** Atomically counts one try against the pending code, unless it is gone, expired or used up. */
  attemptCode(phone: string, maxAttempts: number, now: number): Promise<CodeAttempt>;
  /** Removes the code if it is still `id`; true for exactly one caller, so a code signs in once. */
  redeemCode(phone: string, id: string): Promise<boolean>;

  /** Starts a new family for the device, removing any earlier one of it (its tokens become unknown). */
  issueRefresh(issue: RefreshIssue): Promise<void>;
  /** Uses the family's token `oldHash` once, making `newHash` its next token. */
  rotateRefresh(family: string, oldHash: string, newHash: string, newExpiresAt: number, now: number): Promise<RefreshRotation>;
  /** Revokes the device's family (sign-out, compromise): its tokens refresh no more. */
  revokeDevice(user: string, device: string): Promise<void>;
  /**
   * Account deletion: the phone no longer maps to `user` (its next sign-up makes a new user
   * id) and every refresh family of the user is revoked.
   */
  forgetUser(user: string): Promise<void>;
}
