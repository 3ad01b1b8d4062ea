import { encodeValue } from "../../src/protocol/codec.ts";
import type { Rng } from "./prng.ts";
import { buildFrame, type FrameShape, type FuzzContext } from "./shapes.ts";

/** One WebSocket message to send, and whether the server may close the connection for it. */
export interface FuzzInput {
  mutation: Mutation;
  type: string;
  data: Uint8Array | string;
  mayClose: boolean;
}

/**
 * How a frame is broken, with weights. Structural mutations keep the bytes MessagePack (the
 * server answers `err` and keeps the connection); byte-level ones mostly do not (the server
 * answers `bad_frame` and closes with 1007, or 1009 over the size limit).
 */
export const MUTATIONS = {
  valid: 20,
  field_changed: 25,
  field_dropped: 5,
  field_added: 4,
  wrong_t: 4,
  top_level_type: 3,
  deep_nesting: 3,
  huge_length: 4,
  truncated: 7,
  concatenated: 4,
  byte_flip: 7,
  extension_type: 4,
  random_bytes: 4,
  text_message: 2,
  oversize: 0.5,
} as const;
export type Mutation = keyof typeof MUTATIONS;

const MAX_FRAME_BYTES = 64 * 1024;

/** Values of every MessagePack type and the edges validators trip on. */
function wrongValue(rng: Rng): unknown {
  switch (rng.int(18)) {
    case 0: return null;
    case 1: return rng.chance(0.5);
    case 2: return -rng.int(1e9) - 1;
    case 3: return rng.next() * 1e6;
    case 4: return Number.MAX_SAFE_INTEGER + 2;
    case 5: return 2n ** 64n - 1n;
    case 6: return -(2n ** 63n);
    case 7: return "";
    case 8: return rng.string(rng.range(5000, 20_000));
    case 9: return "\u0000\ud800\uffff💥";
    case 10: return rng.bytes(rng.int(100));
    case 11: return [];
    case 12: return Array.from({ length: rng.int(1500) }, () => rng.string(5));
    case 13: return {};
    case 14: return { t: "send", nested: { deeper: [1, 2, 3] } };
    case 15: return Number.NaN;
    case 16: return Number.POSITIVE_INFINITY;
    default: return rng.int(2 ** 32);
  }
}

function nested(depth: number, rng: Rng): Uint8Array {
  // Built as bytes: msgpackr's encoder recurses, and the point is a depth the server must refuse.
  const out = new Uint8Array(depth + 1);
  for (let i = 0; i < depth; i++) out[i] = rng.chance(0.5) ? 0x91 : 0x81;
  out[depth] = 0x01;
  // A fixmap needs key and value: make the innermost maps hold a key only, so some are truncated.
  return out;
}

function withField(frame: Record<string, unknown>, name: string, raw: Uint8Array): Uint8Array {
  const head = encodeValue(frame);
  const count = Object.keys(frame).length;
  if (count >= 15) return head;
  const key = encodeValue(name);
  const out = new Uint8Array(head.length + key.length + raw.length);
  out.set(head);
  out[0] = 0x80 | (count + 1);
  out.set(key, head.length);
  out.set(raw, head.length + key.length);
  return out;
}

function hugeLengthValue(rng: Rng): Uint8Array {
  const big = [0xff, 0xff, 0xff, rng.int(256)];
  switch (rng.int(6)) {
    case 0: return new Uint8Array([0xdb, ...big, 0x61]); // str32
    case 1: return new Uint8Array([0xc6, ...big, 0x00]); // bin32
    case 2: return new Uint8Array([0xdd, ...big, 0x01]); // array32
    case 3: return new Uint8Array([0xdf, ...big, 0x01]); // map32
    case 4: return new Uint8Array([0xda, 0xff, 0xff, 0x61]); // str16
    default: return new Uint8Array([0xdc, 0xff, 0xff, 0x01]); // array16
  }
}

function extensionValue(rng: Rng): Uint8Array {
  switch (rng.int(5)) {
    case 0: return new Uint8Array([0xc1]);
    case 1: return new Uint8Array([0xc7, 4, 0x74, 1, 1, 2, 3]); // msgpackr typed array
    case 2: return new Uint8Array([0xd6, 0xff, 0, 0, 0, 1]); // timestamp
    case 3: return new Uint8Array([0xd4 + rng.int(5), rng.int(256), ...rng.bytes(16)]).subarray(0, 2 + [1, 2, 4, 8, 16][rng.int(5)]!);
    default: return new Uint8Array([0xc8, 0, 2, rng.int(256), 0, 0]);
  }
}

/** Makes the next input: a frame of a random type, broken one way. */
export function nextInput(rng: Rng, shapes: Map<string, FrameShape>, names: readonly string[], c: FuzzContext): FuzzInput {
  const mutation = rng.weighted(MUTATIONS);
  const type = rng.pick(names);
  const frame = buildFrame(type, shapes.get(type)!, c);
  const keys = Object.keys(frame).filter((k) => k !== "t");
  const structural = (value: unknown, mayClose = false): FuzzInput => ({ mutation, type, data: encodeValue(value), mayClose });
  const bytes = (data: Uint8Array, mayClose = true): FuzzInput => ({ mutation, type, data, mayClose });
  switch (mutation) {
    case "valid":
      return structural(frame);
    case "field_changed": {
      const name = keys.length > 0 && rng.chance(0.9) ? rng.pick(keys) : "t";
      return structural({ ...frame, [name]: wrongValue(rng) });
    }
    case "field_dropped": {
      const copy = { ...frame };
      if (keys.length > 0) delete copy[rng.pick(keys)];
      return structural(copy);
    }
    case "field_added":
      return structural({ ...frame, [rng.pick(["x", "__proto__", "constructor", "r", rng.string(8)])]: wrongValue(rng) });
    case "wrong_t":
      return structural({ ...frame, t: rng.pick([rng.string(rng.range(1, 80)), "", "HELLO", `${type} `, type.toUpperCase(), "send\u0000"]) });
    case "top_level_type":
      return structural(rng.pick<unknown>([null, 42, "send", [frame], rng.bytes(20), true, -1.5, [], Object.values(frame)]));
    case "deep_nesting": {
      const depth = rng.chance(0.5) ? rng.range(2, 40) : rng.range(40, MAX_FRAME_BYTES - 200);
      return bytes(withField(frame, rng.pick(keys.length > 0 ? keys : ["x"]), nested(depth, rng)));
    }
    case "huge_length":
      return bytes(withField(frame, rng.pick(["body", "users", "x", "token"]), hugeLengthValue(rng)));
    case "truncated": {
      const data = encodeValue(frame);
      return bytes(data.subarray(0, rng.int(data.length)));
    }
    case "concatenated": {
      const a = encodeValue(frame);
      const b = encodeValue(buildFrame(type, shapes.get(type)!, c));
      const out = new Uint8Array(a.length + b.length);
      out.set(a);
      out.set(b, a.length);
      return bytes(out);
    }
    case "byte_flip": {
      const data = new Uint8Array(encodeValue(frame));
      for (let i = rng.range(1, 3); i > 0; i--) data[rng.int(data.length)] = rng.int(256);
      return bytes(data);
    }
    case "extension_type":
      return bytes(withField(frame, rng.pick(keys.length > 0 ? keys : ["x"]), extensionValue(rng)));
    case "random_bytes":
      return bytes(rng.bytes(rng.range(1, 200)));
    case "text_message":
      return { mutation, type, data: JSON.stringify(frame, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)), mayClose: false };
    case "oversize":
      return bytes(encodeValue({ ...frame, body: rng.bytes(MAX_FRAME_BYTES + rng.range(1, 4096)) }));
  }
}
