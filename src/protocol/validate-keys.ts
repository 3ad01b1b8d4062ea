import { DEVICE_ID_PATTERN, isUserId, type KeysGetFrame, type KeysPutFrame, type KeysRequestFrame, type OneTimePreKey, type SignedPreKey } from "./frames.ts";
import { absent, FieldError, requestId, type FrameParsers, type Fields } from "./validate-fields.ts";

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

function unsigned(value: unknown, max: number): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 && value <= max;
}

function keyBytes(value: unknown, name: string, maxBytes: number): Uint8Array {
  if (!(value instanceof Uint8Array) || value.byteLength === 0 || value.byteLength > maxBytes) {
    throw new FieldError(`\`${name}\` must be binary of 1-${maxBytes} bytes`);
  }
  // A copy, so nothing keeps the whole inbound frame's buffer alive.
  return new Uint8Array(value);
}

function keyId(value: unknown, name: string): number {
  if (!unsigned(value, KEY_LIMITS.maxKeyId)) throw new FieldError(`\`${name}\` must be an unsigned 32-bit integer`);
  return value;
}

function map(value: unknown, name: string): Fields {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new FieldError(`\`${name}\` must be a map`);
  }
  return value as Fields;
}

function signedKey(value: unknown, name: string, maxKeyBytes: number): SignedPreKey {
  const fields = map(value, name);
  return {
    id: keyId(fields.id, `${name}.id`),
    key: keyBytes(fields.key, `${name}.key`, maxKeyBytes),
    sig: keyBytes(fields.sig, `${name}.sig`, KEY_LIMITS.maxSignatureBytes),
  };
}

function prekeyList(value: unknown): OneTimePreKey[] {
  if (!Array.isArray(value) || value.length > KEY_LIMITS.maxPrekeysPerPut) {
    throw new FieldError(`\`prekeys\` must be an array of 0-${KEY_LIMITS.maxPrekeysPerPut} prekeys`);
  }
  const ids = new Set<number>();
  return value.map((entry, i) => {
    const fields = map(entry, `prekeys[${i}]`);
    const prekey = { id: keyId(fields.id, `prekeys[${i}].id`), key: keyBytes(fields.key, `prekeys[${i}].key`, KEY_LIMITS.maxKeyBytes) };
    if (ids.has(prekey.id)) throw new FieldError(`\`prekeys\` names id ${prekey.id} twice`);
    ids.add(prekey.id);
    return prekey;
  });
}

function keysGet(fields: Fields): KeysGetFrame {
  const r = requestId(fields);
  if (!isUserId(fields.user)) throw new FieldError("`user` must be a user id (1-64 of A-Za-z0-9_.@+-)");
  let device: string | undefined;
  if (!absent(fields.device)) {
    if (typeof fields.device !== "string" || !DEVICE_ID_PATTERN.test(fields.device)) throw new FieldError("`device` must be a device id");
    device = fields.device;
  }
  return { t: "keys.get", r, user: fields.user, device };
}

function keysPut(fields: Fields): KeysPutFrame {
  const frame: KeysPutFrame = {
    t: "keys.put",
    r: requestId(fields),
    identity: keyBytes(fields.identity, "identity", KEY_LIMITS.maxKeyBytes),
    signed: signedKey(fields.signed, "signed", KEY_LIMITS.maxKeyBytes),
    prekeys: prekeyList(fields.prekeys),
  };
  if (!absent(fields.kyber)) frame.kyber = signedKey(fields.kyber, "kyber", KEY_LIMITS.maxKyberKeyBytes);
  if (!absent(fields.reg)) {
    if (!unsigned(fields.reg, KEY_LIMITS.maxRegistrationId)) throw new FieldError("`reg` must be an unsigned 32-bit integer");
    frame.reg = fields.reg;
  }
  return frame;
}

/** Publishing a device's prekeys and fetching a user's. */
export const KEYS_PARSERS: FrameParsers<KeysRequestFrame> = { "keys.put": keysPut, "keys.get": keysGet };
