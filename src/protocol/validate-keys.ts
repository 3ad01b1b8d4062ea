import { DEVICE_ID_PATTERN, isUserId, type KeysRequestFrame, type OneTimePreKey, type SignedPreKey } from "./frames.ts";

/**
 * Bounds on what a device may publish. Curve25519 public keys are 33 bytes (type byte + 32),
 * XEdDSA signatures 64; Kyber-1024 public keys 1569. The slack leaves room for other
 * curves without letting one device fill the store.
 */
export const KEY_LIMITS = {
  maxKeyBytes: 64,
  maxKyberKeyBytes: 2048,
  maxSignatureBytes: 128,
  /** One-time prekeys in one `keys.put` (keeps the frame well under 64 KiB). */
  maxPrekeysPerPut: 100,
  /** One-time prekeys one device may hold. */
  maxPrekeysStored: 1000,
  /** Signal's prekey ids are 24-bit; anything that fits 32 bits is accepted. */
  maxKeyId: 0xffffffff,
  maxRegistrationId: 0xffffffff,
} as const;

type Fields = Record<string, unknown>;
type Invalid = (msg: string) => Error;

function unsigned(value: unknown, max: number): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 && value <= max;
}

function keyBytes(value: unknown, name: string, maxBytes: number, invalid: Invalid): Uint8Array {
  if (!(value instanceof Uint8Array) || value.byteLength === 0 || value.byteLength > maxBytes) {
    throw invalid(`\`${name}\` must be binary of 1-${maxBytes} bytes`);
  }
  // A copy, so nothing keeps the whole inbound frame's buffer alive.
  return new Uint8Array(value);
}

function keyId(value: unknown, name: string, invalid: Invalid): number {
  if (!unsigned(value, KEY_LIMITS.maxKeyId)) throw invalid(`\`${name}\` must be an unsigned 32-bit integer`);
  return value;
}

function map(value: unknown, name: string, invalid: Invalid): Fields {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw invalid(`\`${name}\` must be a map`);
  }
  return value as Fields;
}

function signedKey(value: unknown, name: string, maxKeyBytes: number, invalid: Invalid): SignedPreKey {
  const fields = map(value, name, invalid);
  return {
    id: keyId(fields.id, `${name}.id`, invalid),
    key: keyBytes(fields.key, `${name}.key`, maxKeyBytes, invalid),
    sig: keyBytes(fields.sig, `${name}.sig`, KEY_LIMITS.maxSignatureBytes, invalid),
  };
}

function prekeyList(value: unknown, invalid: Invalid): OneTimePreKey[] {
  if (!Array.isArray(value) || value.length > KEY_LIMITS.maxPrekeysPerPut) {
    throw invalid(`\`prekeys\` must be an array of 0-${KEY_LIMITS.maxPrekeysPerPut} prekeys`);
  }
  const ids = new Set<number>();
  return value.map((entry, i) => {
    const fields = map(entry, `prekeys[${i}]`, invalid);
    const prekey = { id: keyId(fields.id, `prekeys[${i}].id`, invalid), key: keyBytes(fields.key, `prekeys[${i}].key`, KEY_LIMITS.maxKeyBytes, invalid) };
    if (ids.has(prekey.id)) throw invalid(`\`prekeys\` names id ${prekey.id} twice`);
    ids.add(prekey.id);
    return prekey;
  });
}

function absent(value: unknown): boolean {
  return value === undefined || value === null;
}

/** `keys.put` and `keys.get`, for validate.ts; `invalid` makes its field error. */
export function parseKeysFrame(fields: Fields, invalid: Invalid): KeysRequestFrame {
  if (!unsigned(fields.r, Number.MAX_SAFE_INTEGER)) throw invalid("`r` must be an unsigned integer");
  const r = fields.r;
  if (fields.t === "keys.get") {
    if (!isUserId(fields.user)) throw invalid("`user` must be a user id (1-64 of A-Za-z0-9_.@+-)");
    let device: string | undefined;
    if (!absent(fields.device)) {
      if (typeof fields.device !== "string" || !DEVICE_ID_PATTERN.test(fields.device)) throw invalid("`device` must be a device id");
      device = fields.device;
    }
    return { t: "keys.get", r, user: fields.user, device };
  }
  const frame: KeysRequestFrame = {
    t: "keys.put",
    r,
    identity: keyBytes(fields.identity, "identity", KEY_LIMITS.maxKeyBytes, invalid),
    signed: signedKey(fields.signed, "signed", KEY_LIMITS.maxKeyBytes, invalid),
    prekeys: prekeyList(fields.prekeys, invalid),
  };
  if (!absent(fields.kyber)) frame.kyber = signedKey(fields.kyber, "kyber", KEY_LIMITS.maxKyberKeyBytes, invalid);
  if (!absent(fields.reg)) {
    if (!unsigned(fields.reg, KEY_LIMITS.maxRegistrationId)) throw invalid("`reg` must be an unsigned 32-bit integer");
    frame.reg = fields.reg;
  }
  return frame;
}
