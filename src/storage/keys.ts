/**
 * End-to-end encryption: the prekey service's storage. Used by src/keys/key-service.ts;
 * implementations: lmdb/lmdb-key-store.ts, cql/key-store.ts.
 */

/** A public key with the owner's signature over it by its identity key (opaque to the router). */
export interface SignedKey {
  id: number;
  key: Uint8Array;
  sig: Uint8Array;
}

export interface OneTimeKey {
  id: number;
  key: Uint8Array;
}

/** What one device publishes so others can start sessions with it while it is offline. */
export interface DeviceKeys {
  identity: Uint8Array;
  signed: SignedKey;
  /** A signed last-resort post-quantum (Kyber) prekey, as PQXDH needs. */
  kyber?: SignedKey;
  /** The device's registration id, for clients (libsignal) that check it. */
  reg?: number;
}

/** One device's bundle as handed out, with at most one one-time prekey claimed for the caller. */
export interface ClaimedBundle extends DeviceKeys {
  device: string;
  /** Absent when the device has no one-time prekeys left. */
  prekey?: OneTimeKey;
  /** One-time prekeys the device has left after this claim (0, unread, when no claim was made). */
  remaining: number;
  /** This claim took the device below the low-water mark: tell the owner (once per drop). */
  low: boolean;
}

export interface KeyPutResult {
  /** One-time prekeys the device holds after the put (or before it, when refused). */
  count: number;
  /** Set when the put would take the device over `maxPrekeys`: nothing was written. */
  refused?: "limit";
}

/**
 * Prekeys per (user, device). Unlike the other stores this one has many writers per key
 * (every device that starts a session claims), so `claim` must be atomic on its own:
 * a one-time prekey is handed to one caller, ever, across all nodes.
 */
export interface KeyStore {
  /**
   * Replaces the device's identity, signed (and kyber) prekeys and adds `prekeys` (an id
   * already stored is replaced). A new identity drops the device's old one-time prekeys.
   * Clears the low flag once the device holds at least `lowWater` again.
   */
  put(user: string, device: string, keys: DeviceKeys, prekeys: OneTimeKey[], limits: { maxPrekeys: number; lowWater: number }): Promise<KeyPutResult>;
  /**
   * One bundle per device of `user` (or only `device`), each with one one-time prekey
   * removed from the store in the same atomic step. Empty when no device has keys.
   * `oneTime: false` hands out the bundles without a one-time prekey and changes nothing
   * (the target's per-window claim budget is spent: see KeyService).
   */
  claim(user: string, device: string | undefined, limits: { lowWater: number; oneTime?: boolean }): Promise<ClaimedBundle[]>;
  /** Account deletion: every device's keys and one-time prekeys go. */
  deleteUser(user: string): Promise<void>;
}
