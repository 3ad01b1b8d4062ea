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

export function encodeFrame(frame: ServerFrame): Uint8Array {
  return packr.pack(frame);
}

/** Encodes anything MessagePack can hold; the client SDK and tests use it for client frames. */
export function encodeValue(value: unknown): Uint8Array {
  return packr.pack(value);
}

export class UndecodableFrameError extends Error {
  override readonly name = "UndecodableFrameError";
}

/** Decodes one WebSocket message; throws UndecodableFrameError for bytes that are not one MessagePack value. */
export function decodeValue(bytes: Uint8Array): unknown {
  try {
    return unpackr.unpack(bytes);
  } catch (error) {
    throw new UndecodableFrameError("not a MessagePack value", { cause: error });
  }
}
