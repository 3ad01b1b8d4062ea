import cassandra from "cassandra-driver";
import { StorageUnavailableError } from "../errors.ts";
import type { ClaimedBundle, DeviceKeys, KeyPutResult, KeyStore, OneTimeKey, SignedKey } from "../keys.ts";
import {
  blobParam,
  bytesColumn,
  numberColumn,
  optionalBooleanColumn,
  optionalBytesColumn,
  optionalNumberColumn,
  textColumn,
  uuidColumn,
} from "./columns.ts";
import type { CqlSession, Row, Statement } from "./session.ts";

type Uuid = cassandra.types.Uuid;

const DEVICE_COLUMNS = "device, identity, signed_id, signed_key, signed_sig, kyber_id, kyber_key, kyber_sig, reg, prekeys";
const SELECT_DEVICES = `SELECT ${DEVICE_COLUMNS} FROM key_devices WHERE user_id = ?`;
const SELECT_DEVICE = `SELECT ${DEVICE_COLUMNS} FROM key_devices WHERE user_id = ? AND device = ?`;
const INSERT_DEVICE =
  "INSERT INTO key_devices (user_id, device, identity, signed_id, signed_key, signed_sig, kyber_id, kyber_key, kyber_sig, reg, prekeys) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

// DISTINCT reads the static row alone; a read with a clustering restriction would return
// nothing for a partition whose prekeys are all claimed.
const SELECT_STATE =
  "SELECT DISTINCT user_id, device, generation, version, held, floor_id, warned FROM prekeys WHERE user_id = ? AND device = ? AND generation = ?";
const SELECT_FIRST = "SELECT key_id, key FROM prekeys WHERE user_id = ? AND device = ? AND generation = ? AND key_id > ? LIMIT 1";
const SELECT_HELD_IDS = "SELECT key_id FROM prekeys WHERE user_id = ? AND device = ? AND generation = ? AND key_id IN ?";
const INSERT_PREKEY = "INSERT INTO prekeys (user_id, device, generation, key_id, key) VALUES (?, ?, ?, ?, ?)";
const DELETE_PREKEY = "DELETE FROM prekeys WHERE user_id = ? AND device = ? AND generation = ? AND key_id = ?";
// The condition of every write of a prekeys partition: nobody wrote it since it was read.
const SET_STATE =
  "UPDATE prekeys SET version = ?, held = ?, floor_id = ?, warned = ? WHERE user_id = ? AND device = ? AND generation = ? IF version = ?";
const DELETE_DEVICES = "DELETE FROM key_devices WHERE user_id = ?";
const DROP_GENERATION = "DELETE FROM prekeys WHERE user_id = ? AND device = ? AND generation = ?";

/** Below every key id (they are unsigned). */
const NO_FLOOR = -1;
/**
 * Lost compare-and-sets before a claim or put gives up with StorageUnavailableError. Each
 * loss is another node's write landing first, and this node queues its own, so it takes as
 * many nodes hammering one device at once.
 */
const MAX_ATTEMPTS = 50;

interface DeviceRow extends DeviceKeys {
  device: string;
  generation: Uuid;
}

/** A prekeys partition's static row; a partition never written reads as empty, version null. */
interface PrekeyState {
  version: number | null;
  held: number;
  floor: number;
  warned: boolean;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return blobParam(a).equals(blobParam(b));
}

function deviceFromRow(row: Row): DeviceRow {
  const keys: DeviceRow = {
    device: textColumn(row, "device"),
    identity: bytesColumn(row, "identity"),
    signed: { id: numberColumn(row, "signed_id"), key: bytesColumn(row, "signed_key"), sig: bytesColumn(row, "signed_sig") },
    generation: uuidColumn(row, "prekeys"),
  };
  const kyberId = optionalNumberColumn(row, "kyber_id");
  const kyberKey = optionalBytesColumn(row, "kyber_key");
  const kyberSig = optionalBytesColumn(row, "kyber_sig");
  if (kyberId !== undefined && kyberKey && kyberSig) keys.kyber = { id: kyberId, key: kyberKey, sig: kyberSig };
  const reg = optionalNumberColumn(row, "reg");
  if (reg !== undefined) keys.reg = reg;
  return keys;
}

function signedParams(key: SignedKey | undefined): [number | null, Buffer | null, Buffer | null] {
  return key ? [key.id, blobParam(key.key), blobParam(key.sig)] : [null, null, null];
}

/** A short random pause after a lost compare-and-set, so two nodes do not collide in step. */
function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(20, 2 * attempt)));
}

/**
 * Prekeys on CQL. A device's one-time prekeys are one partition whose every write (a claim's
 * delete, a put's inserts) is a lightweight transaction on its version, so two claims from any
 * two nodes cannot both take the same prekey: the second one's condition fails and it reads
 * again. The claim takes the lowest id, read by clustering order with LIMIT 1.
 *
 * Paxos on one partition degrades badly when many coordinators propose at once, so this node
 * queues its own writes per device: a popular device sees one proposer per node, not one per
 * caller.
 *
 * A claim whose transaction times out may have applied: that prekey is then gone without
 * anyone having been given it. Losing one is safe (the caller retries and gets another, or
 * the signed prekey); handing one out twice would not be.
 */
export class CqlKeyStore implements KeyStore {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly session: CqlSession) {}

  async put(user: string, device: string, keys: DeviceKeys, prekeys: OneTimeKey[], limits: { maxPrekeys: number; lowWater: number }): Promise<KeyPutResult> {
    return this.serially(user, device, async () => {
      const [row] = await this.session.rows("putKeys", { query: SELECT_DEVICE, params: [user, device] });
      const current = row ? deviceFromRow(row) : undefined;
      // One-time prekeys belong to the identity that published them; a new identity (a
      // reinstalled app) makes them useless to anyone claiming them.
      const keep = current !== undefined && sameBytes(current.identity, keys.identity);
      const generation = keep ? current.generation : cassandra.types.Uuid.random();
      const result = await this.addPrekeys(user, device, generation, !keep, prekeys, limits);
      if (result.refused) return result;
      // After the prekeys: a claimer never sees the new identity without them.
      await this.session.execute("putKeys", {
        query: INSERT_DEVICE,
        params: [user, device, blobParam(keys.identity), ...signedParams(keys.signed), ...signedParams(keys.kyber), keys.reg ?? null, generation],
      });
      if (current && !keep) {
        await this.session.execute("putKeys", { query: DROP_GENERATION, params: [user, device, current.generation] });
      }
      return result;
    });
  }

  private async addPrekeys(
    user: string,
    device: string,
    generation: Uuid,
    fresh: boolean,
    prekeys: readonly OneTimeKey[],
    limits: { maxPrekeys: number; lowWater: number },
  ): Promise<KeyPutResult> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      const [state, held] = fresh
        ? [{ version: null, held: 0, floor: NO_FLOOR, warned: false }, new Set<number>()]
        : await Promise.all([this.state(user, device, generation, "putKeys"), this.heldIds(user, device, generation, prekeys)]);
      const count = state.held + prekeys.filter((prekey) => !held.has(prekey.id)).length;
      if (count > limits.maxPrekeys) return { count: state.held, refused: "limit" };
      if (prekeys.length === 0) return { count };
      const floor = Math.min(state.floor, ...prekeys.map((prekey) => prekey.id - 1));
      const statements: Statement[] = prekeys.map((prekey) => ({
        query: INSERT_PREKEY,
        params: [user, device, generation, prekey.id, blobParam(prekey.key)],
      }));
      // A refill back to the low-water mark re-arms the warning.
      const warned = state.warned && count < limits.lowWater;
      statements.push(this.setState(user, device, generation, state, { held: count, floor, warned }));
      const [row] = await this.session.conditionalBatch("putKeys", statements);
      if (row?.get("[applied]") === true) return { count };
      await backoff(attempt);
    }
    throw new StorageUnavailableError(`cql putKeys for ${user}/${device} lost ${MAX_ATTEMPTS} races in a row`);
  }

  async deleteUser(user: string): Promise<void> {
    const rows = await this.session.rows("deleteKeys", { query: SELECT_DEVICES, params: [user] });
    for (const keys of rows.map((row) => deviceFromRow(row))) {
      await this.serially(user, keys.device, () => this.session.execute("deleteKeys", { query: DROP_GENERATION, params: [user, keys.device, keys.generation] }));
    }
    await this.session.execute("deleteKeys", { query: DELETE_DEVICES, params: [user] });
  }

  async claim(user: string, device: string | undefined, limits: { lowWater: number; oneTime?: boolean }): Promise<ClaimedBundle[]> {
    const rows =
      device === undefined
        ? await this.session.rows("claimKeys", { query: SELECT_DEVICES, params: [user] })
        : await this.session.rows("claimKeys", { query: SELECT_DEVICE, params: [user, device] });
    if (limits.oneTime === false) {
      // The bundles alone: no prekey is taken, so nothing is written (`remaining` is not read either).
      return rows.map((row) => {
        const { generation: _generation, ...published } = deviceFromRow(row);
        return { ...published, remaining: 0, low: false };
      });
    }
    return Promise.all(rows.map((row) => deviceFromRow(row)).map((keys) => this.serially(user, keys.device, () => this.claimOne(user, keys, limits.lowWater))));
  }

  private async claimOne(user: string, keys: DeviceRow, lowWater: number): Promise<ClaimedBundle> {
    const { device, generation, ...published } = keys;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      const state = await this.state(user, device, generation, "claimKeys");
      let prekey: OneTimeKey | undefined;
      if (state.held > 0) {
        const [first] = await this.session.rows("claimKeys", { query: SELECT_FIRST, params: [user, device, generation, state.floor] });
        // The state and the row were read apart: a write landed in between. Read both again.
        if (!first) continue;
        prekey = { id: numberColumn(first, "key_id"), key: bytesColumn(first, "key") };
      }
      const remaining = prekey ? state.held - 1 : state.held;
      // A device that never uploaded enough is as much in need as one just drained.
      const low = remaining < lowWater && !state.warned;
      if (prekey || low) {
        const statements: Statement[] = [];
        if (prekey) statements.push({ query: DELETE_PREKEY, params: [user, device, generation, prekey.id] });
        statements.push(this.setState(user, device, generation, state, { held: remaining, floor: prekey?.id ?? state.floor, warned: state.warned || low }));
        const [row] = await this.session.conditionalBatch("claimKeys", statements);
        if (row?.get("[applied]") !== true) {
          await backoff(attempt);
          continue;
        }
      }
      return { device, ...published, prekey, remaining, low };
    }
    throw new StorageUnavailableError(`cql claimKeys for ${user}/${device} lost ${MAX_ATTEMPTS} races in a row`);
  }

  private setState(user: string, device: string, generation: Uuid, read: PrekeyState, next: Omit<PrekeyState, "version">): Statement {
    return {
      query: SET_STATE,
      params: [(read.version ?? 0) + 1, next.held, next.floor, next.warned, user, device, generation, read.version],
    };
  }

  private async state(user: string, device: string, generation: Uuid, operation: string): Promise<PrekeyState> {
    const [row] = await this.session.rows(operation, { query: SELECT_STATE, params: [user, device, generation] });
    return {
      version: (row && optionalNumberColumn(row, "version")) ?? null,
      held: (row && optionalNumberColumn(row, "held")) ?? 0,
      floor: (row && optionalNumberColumn(row, "floor_id")) ?? NO_FLOOR,
      warned: (row && optionalBooleanColumn(row, "warned")) ?? false,
    };
  }

  /** Which of `prekeys` the partition holds already: a put replaces those rather than adding. */
  private async heldIds(user: string, device: string, generation: Uuid, prekeys: readonly OneTimeKey[]): Promise<Set<number>> {
    if (prekeys.length === 0) return new Set();
    const rows = await this.session.rows("putKeys", {
      query: SELECT_HELD_IDS,
      params: [user, device, generation, prekeys.map((prekey) => prekey.id)],
    });
    return new Set(rows.map((row) => numberColumn(row, "key_id")));
  }

  /** Runs `task` after this node's earlier writes of the device have settled. */
  private serially<T>(user: string, device: string, task: () => Promise<T>): Promise<T> {
    const key = JSON.stringify([user, device]);
    const run = (this.queues.get(key) ?? Promise.resolve()).then(task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return run;
  }
}
