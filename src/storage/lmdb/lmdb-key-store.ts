import type { Database, RootDatabase } from "lmdb";
import { StorageUnavailableError } from "../errors.ts";
import type { ClaimedBundle, DeviceKeys, KeyPutResult, KeyStore, OneTimeKey } from "../keys.ts";

const ID_MAX = Number.MAX_SAFE_INTEGER;
/** Sorts after every device id (they are ASCII). */
const STRING_MAX = "\uffff";

interface DeviceRecord extends DeviceKeys {
  /** One-time prekeys held, kept here so a claim need not count them. */
  count: number;
  /** The owner was told the device ran low and has not refilled since. */
  low: boolean;
}

export interface LmdbKeyDatabases {
  keyDevices: Database<DeviceRecord, [string, string]>;
  prekeys: Database<Uint8Array, [string, string, number]>;
}

export function openKeyDatabases(root: RootDatabase): LmdbKeyDatabases {
  return {
    keyDevices: root.openDB({ name: "key-devices" }),
    prekeys: root.openDB({ name: "prekeys" }),
  };
}

/** msgpackr hands stored binaries back as Buffers; clients get plain bytes either way. */
function bytes(value: Uint8Array): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function publicKeys(record: DeviceRecord): DeviceKeys {
  const out: DeviceKeys = {
    identity: bytes(record.identity),
    signed: { id: record.signed.id, key: bytes(record.signed.key), sig: bytes(record.signed.sig) },
  };
  if (record.kyber) out.kyber = { id: record.kyber.id, key: bytes(record.kyber.key), sig: bytes(record.kyber.sig) };
  if (record.reg !== undefined) out.reg = record.reg;
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/**
 * Every read-modify-write happens inside one LMDB write transaction: LMDB has a single
 * writer per environment, so two claims (from any connection of this node) are serialised
 * and cannot both see the same first prekey.
 */
export class LmdbKeyStore implements KeyStore {
  constructor(
    private readonly root: RootDatabase,
    private readonly db: LmdbKeyDatabases,
  ) {}

  async deleteUser(user: string): Promise<void> {
    try {
      await this.root.transaction(() => {
        for (const { key } of this.db.keyDevices.getRange({ start: [user, ""], end: [user, STRING_MAX] })) {
          for (const prekey of this.db.prekeys.getKeys({ start: [user, key[1], 0], end: [user, key[1], ID_MAX] })) void this.db.prekeys.remove(prekey);
          void this.db.keyDevices.remove(key);
        }
      });
    } catch (error) {
      throw new StorageUnavailableError("lmdb deleteKeys failed", { cause: error });
    }
  }

  async put(user: string, device: string, keys: DeviceKeys, prekeys: OneTimeKey[], limits: { maxPrekeys: number; lowWater: number }): Promise<KeyPutResult> {
    try {
      return await this.root.transaction((): KeyPutResult => {
        const current = this.db.keyDevices.get([user, device]);
        // One-time prekeys belong to the identity that published them; a new identity
        // (a reinstalled app) makes them useless to anyone claiming them.
        const keep = current !== undefined && sameBytes(current.identity, keys.identity);
        let count = keep ? current.count : 0;
        let added = 0;
        for (const prekey of prekeys) if (!keep || this.db.prekeys.get([user, device, prekey.id]) === undefined) added += 1;
        if (count + added > limits.maxPrekeys) return { count, refused: "limit" };
        if (current && !keep) {
          for (const key of this.db.prekeys.getKeys({ start: [user, device, 0], end: [user, device, ID_MAX] })) this.db.prekeys.remove(key);
        }
        for (const prekey of prekeys) this.db.prekeys.put([user, device, prekey.id], prekey.key);
        count += added;
        const record: DeviceRecord = {
          identity: keys.identity,
          signed: keys.signed,
          count,
          low: keep && current.low && count < limits.lowWater,
        };
        if (keys.kyber) record.kyber = keys.kyber;
        if (keys.reg !== undefined) record.reg = keys.reg;
        this.db.keyDevices.put([user, device], record);
        return { count };
      });
    } catch (error) {
      throw new StorageUnavailableError("lmdb putKeys failed", { cause: error });
    }
  }

  async claim(user: string, device: string | undefined, limits: { lowWater: number; oneTime?: boolean }): Promise<ClaimedBundle[]> {
    if (limits.oneTime === false) return this.bundlesOnly(user, device);
    try {
      return await this.root.transaction(() => {
        const devices: Array<[string, DeviceRecord]> = [];
        if (device !== undefined) {
          const record = this.db.keyDevices.get([user, device]);
          if (record) devices.push([device, record]);
        } else {
          for (const { key, value } of this.db.keyDevices.getRange({ start: [user, ""], end: [user, STRING_MAX] })) devices.push([key[1], value]);
        }
        return devices.map(([name, record]) => this.claimOne(user, name, record, limits.lowWater));
      });
    } catch (error) {
      throw new StorageUnavailableError("lmdb claimKeys failed", { cause: error });
    }
  }

  /** The devices' bundles with no one-time prekey: a read, nothing changes. */
  private async bundlesOnly(user: string, device: string | undefined): Promise<ClaimedBundle[]> {
    const out: ClaimedBundle[] = [];
    const add = (name: string, record: DeviceRecord) => out.push({ device: name, ...publicKeys(record), remaining: 0, low: false });
    if (device !== undefined) {
      const record = this.db.keyDevices.get([user, device]);
      if (record) add(device, record);
    } else {
      for (const { key, value } of this.db.keyDevices.getRange({ start: [user, ""], end: [user, STRING_MAX] })) add(key[1], value);
    }
    return out;
  }

  /** Runs inside claim's write transaction. */
  private claimOne(user: string, device: string, record: DeviceRecord, lowWater: number): ClaimedBundle {
    let prekey: OneTimeKey | undefined;
    for (const { key, value } of this.db.prekeys.getRange({ start: [user, device, 0], end: [user, device, ID_MAX], limit: 1 })) {
      prekey = { id: key[2], key: bytes(value) };
    }
    if (prekey) this.db.prekeys.remove([user, device, prekey.id]);
    const count = prekey ? record.count - 1 : record.count;
    // A device that never uploaded enough is as much in need as one just drained.
    const low = count < lowWater && !record.low;
    if (prekey || low) this.db.keyDevices.put([user, device], { ...record, count, low: record.low || low });
    record = { ...record, count };
    return { device, ...publicKeys(record), prekey, remaining: record.count, low };
  }
}
