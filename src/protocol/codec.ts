import { Packr, Unpackr, type Options } from "msgpackr";
import type { ServerFrame } from "./frames.ts";

/**
 * Standard MessagePack only: no msgpackr records, no extension types, so Swift and Kotlin
 * msgpack libraries decode every frame. Absent optional fields are omitted rather than
 * encoded as msgpackr's `undefined` extension.
 */
// `skipValues` and int64AsType "auto" exist in msgpackr 1.10+ but not in its bundled typings.
const packr = new Packr({
  useRecords: false,
  variableMapSize: true,
  skipValues: [undefined],
  encodeUndefinedAsNil: true,
} as Options);

// copyBuffers: uWebSockets.js reuses a message's memory once its handler returns, so a
// decoded `body` must not be a view into it.
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  int64AsType: "auto",
  copyBuffers: true,
} as unknown as Options);

/**
 * Frames many connections are sent unchanged (a group message's fan-out), with their bytes:
 * encoded once for all rather than once per member. Weak: gone with the frame.
 */
const encodedOnce = new WeakMap<ServerFrame, Uint8Array>();

/** Encodes `frame` now, once: every later encodeFrame of this same object returns these bytes. */
export function encodeOnceForAll<F extends ServerFrame>(frame: F): F {
  encodedOnce.set(frame, packr.pack(frame));
  return frame;
}

export function encodeFrame(frame: ServerFrame): Uint8Array {
  // msgpackr never writes over bytes it returned (a full buffer is replaced, not reused), so
  // one encoding can sit in many connections' outboxes.
  return encodedOnce.get(frame) ?? packr.pack(frame);
}

/** Encodes anything MessagePack can hold; the client SDK and tests use it for client frames. */
export function encodeValue(value: unknown): Uint8Array {
  return packr.pack(value);
}

export class UndecodableFrameError extends Error {
  override readonly name = "UndecodableFrameError";
}

/** Deepest nesting of arrays and maps a frame may have; the deepest real frame (`keys.put`) has 3. */
export const MAX_FRAME_DEPTH = 32;

/**
 * The walk's stack of enclosing levels, made once: every frame passes through the walk, and it
 * runs to completion without yielding, so one stack serves all (counts reach 2^33: doubles).
 */
const outerLevels = new Float64Array(MAX_FRAME_DEPTH);

function bigEndian(bytes: Uint8Array, pos: number, size: number): number {
  let value = 0;
  for (let i = 0; i < size; i++) value = value * 256 + bytes[pos + i]!;
  return value;
}

/**
 * Walks one MessagePack value without building it and says why it is not one we accept, or
 * undefined. msgpackr decodes extension types (typed arrays, Date, records) and maps the
 * reserved byte 0xc1 to a value, and none of these is part of the protocol, so they are
 * refused before decoding. Linear in the frame's size: strings and binaries are skipped, not
 * read, and no container can declare more items than there are bytes left.
 */
// long: one loop over MessagePack's table of formats, read at a glance; the hot path stays free of a call per value
export function frameSyntaxError(bytes: Uint8Array): string | undefined {
  const length = bytes.length;
  let pos = 0;
  /** Values still to read at the current level; those of the levels around it are in `outerLevels`. */
  let remaining = 1;
  let depth = 0;
  for (;;) {
    while (remaining === 0) {
      if (depth === 0) return pos === length ? undefined : "bytes after the value";
      remaining = outerLevels[--depth]!;
    }
    if (pos >= length) return "truncated";
    remaining--;
    const byte = bytes[pos++]!;
    let items = 0;
    let skip = 0;
    let lengthSize = 0;
    if (byte <= 0x7f || byte >= 0xe0) {
      // fixint
    } else if (byte <= 0x8f) {
      items = (byte & 0x0f) * 2;
    } else if (byte <= 0x9f) {
      items = byte & 0x0f;
    } else if (byte <= 0xbf) {
      skip = byte & 0x1f;
    } else {
      switch (byte) {
        case 0xc0: // nil
        case 0xc2: // false
        case 0xc3: // true
          break;
        case 0xc1:
          return "the reserved byte 0xc1";
        case 0xc7: // ext 8/16/32
        case 0xc8:
        case 0xc9:
        case 0xd4: // fixext 1/2/4/8/16
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
          return "an extension type";
        case 0xc4: // bin 8/16/32
        case 0xd9: // str 8/16/32
          lengthSize = 1;
          break;
        case 0xc5:
        case 0xda:
          lengthSize = 2;
          break;
        case 0xc6:
        case 0xdb:
          lengthSize = 4;
          break;
        case 0xcc: // uint 8, int 8
        case 0xd0:
          skip = 1;
          break;
        case 0xcd:
        case 0xd1:
          skip = 2;
          break;
        case 0xca: // float 32
        case 0xce:
        case 0xd2:
          skip = 4;
          break;
        case 0xcb: // float 64
        case 0xcf:
        case 0xd3:
          skip = 8;
          break;
        case 0xdc: // array 16/32
          if (pos + 2 > length) return "truncated";
          items = bigEndian(bytes, pos, 2);
          pos += 2;
          break;
        case 0xdd:
          if (pos + 4 > length) return "truncated";
          items = bigEndian(bytes, pos, 4);
          pos += 4;
          break;
        case 0xde: // map 16/32
          if (pos + 2 > length) return "truncated";
          items = bigEndian(bytes, pos, 2) * 2;
          pos += 2;
          break;
        case 0xdf:
          if (pos + 4 > length) return "truncated";
          items = bigEndian(bytes, pos, 4) * 2;
          pos += 4;
          break;
      }
    }
    if (lengthSize > 0) {
      if (pos + lengthSize > length) return "truncated";
      skip = bigEndian(bytes, pos, lengthSize);
      pos += lengthSize;
    }
    if (skip > length - pos) return "truncated";
    pos += skip;
    if (items > 0) {
      // Every item takes at least one byte: a larger count is a lie, refused before any work.
      if (items > length - pos) return "truncated";
      if (depth >= MAX_FRAME_DEPTH) return "nested too deeply";
      outerLevels[depth++] = remaining;
      remaining = items;
    }
  }
}

/**
 * Decodes one WebSocket message; throws UndecodableFrameError for bytes that are not one
 * MessagePack value, or that hold an extension type or the reserved byte 0xc1.
 */
export function decodeValue(bytes: Uint8Array): unknown {
  const refused = frameSyntaxError(bytes);
  if (refused !== undefined) throw new UndecodableFrameError(`not a protocol MessagePack value: ${refused}`);
  try {
    return unpackr.unpack(bytes);
  } catch (error) {
    throw new UndecodableFrameError("not a MessagePack value", { cause: error });
  }
}
