/**
 * Token revocation (`router token revoke`): per user, or per user and device, the time at
 * or before which tokens were issued that are no longer good. Operators revoke rarely, and
 * every node keeps the whole set in memory (src/auth/revocations.ts), so the interface is a
 * write, a full read, and a cheap number that tells a poller when to read again.
 *
 * Implementations: LMDB in its own environment under the data directory (a node alone), and
 * Redis (a cluster), side by side in lmdb/ and redis/.
 */
export interface Revocation {
  user: string;
  /** Absent: every device of the user. */
  device?: string;
  /** ms since the epoch: tokens issued at or before it are void. */
  at: number;
}

export interface RevocationStore {
  /** Voids the tokens of `user` (on `device`, or on every device) issued at or before `at`. Never moves a revocation back. */
  revoke(user: string, device: string | undefined, at: number): Promise<void>;
  /** Every revocation held: one per user, and one per (user, device). */
  all(): Promise<Revocation[]>;
  /** Changes whenever a revocation is written: a poller reads all() again only when it moved. */
  version(): Promise<number>;
  close(): Promise<void>;
}

/**
 * A deleted account's tombstone: a revocation of every token of the user, whenever issued.
 * Nodes also refuse messages and group adds naming a user with one.
 */
export const DELETED_FOREVER = Number.MAX_SAFE_INTEGER;
