import { Packr, Unpackr, type Options } from "msgpackr";

/**
 * Standard MessagePack only (docs/protocol.md, Connection): no msgpackr records or extension
 * types, absent optional fields left out. The same settings as the server's codec, so what
 * the SDK sends is byte for byte what test vectors and other clients send.
 */
// `skipValues` and int64AsType "auto" exist in msgpackr but not in its bundled typings.
const packr = new Packr({
  useRecords: false,
  variableMapSize: true,
  skipValues: [undefined],
  encodeUndefinedAsNil: true,
} as Options);

const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  int64AsType: "auto",
} as unknown as Options);

/** One frame (or, for tests of the server's refusals, any value) as one binary message. */
export function encodeFrame(value: unknown): Uint8Array {
  return packr.pack(value);
}

type BufferLike = { from(buffer: ArrayBufferLike, offset: number, length: number): Uint8Array };
/** On Node, binaries decode as Buffers (as `ws` and Node's own APIs hand them); elsewhere as Uint8Arrays. */
const NodeBuffer = (globalThis as { Buffer?: BufferLike }).Buffer;

export function decodeFrame(bytes: Uint8Array): unknown {
  const input = NodeBuffer ? NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes;
  return unpackr.unpack(input);
}
