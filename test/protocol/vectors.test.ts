import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { decode as decodeWithSecondLibrary, encode as encodeWithSecondLibrary } from "@msgpack/msgpack";
import { CLIENT_FRAMES, SERVER_FRAMES } from "../../protocol-schema/frames.ts";
import { buildVectors, printed, VECTORS_FILE, type Vector } from "../../protocol-schema/generate.ts";
import { decodeFrame, encodeFrame } from "../../sdk/codec.ts";
import { decodeValue } from "../../src/protocol/codec.ts";
import { validateFrame } from "../../src/protocol/validate.ts";
import { frameValidators } from "./support.ts";

const vectors = JSON.parse(readFileSync(VECTORS_FILE, "utf8")) as Vector[];

const fromHex = (hex: string) => new Uint8Array(hex.match(/../g)?.map((pair) => parseInt(pair, 16)) ?? []);

/** The vector's JSON as the frame it stands for: {"$bin": hex} back to bytes. */
function fromJsonValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJsonValue);
  if (value !== null && typeof value === "object") {
    const fields = value as Record<string, unknown>;
    if (Object.keys(fields).length === 1 && typeof fields.$bin === "string") return fromHex(fields.$bin);
    return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, fromJsonValue(v)]));
  }
  return value;
}

/** Bytes of any kind (Buffer, Uint8Array) as plain Uint8Arrays, so two decoders' output compares. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

describe("the byte-level test vectors (protocol-schema/vectors.json)", () => {
  it("are what protocol-schema/samples.ts encodes to (regenerate: node --import tsx protocol-schema/generate.ts)", () => {
    assert.equal(readFileSync(VECTORS_FILE, "utf8"), printed(buildVectors()));
    assert.equal(new Set(vectors.map((v) => v.name)).size, vectors.length, "names are unique");
  });

  it("cover every frame type in both directions", () => {
    for (const [direction, frames] of [["client", CLIENT_FRAMES], ["server", SERVER_FRAMES]] as const) {
      const covered = new Set(vectors.filter((v) => v.direction === direction).map((v) => (v.frame as { t: string }).t));
      assert.deepEqual([...covered].sort(), Object.keys(frames).sort(), direction);
    }
  });

  it("decode with a second MessagePack implementation (@msgpack/msgpack) to their JSON", () => {
    for (const vector of vectors) {
      assert.deepStrictEqual(plain(decodeWithSecondLibrary(fromHex(vector.hex))), fromJsonValue(vector.frame), vector.name);
    }
  });

  it("are exactly what the SDK encodes, and the SDK decodes them back", () => {
    for (const vector of vectors) {
      const frame = fromJsonValue(vector.frame);
      assert.equal(Buffer.from(encodeFrame(frame)).toString("hex"), vector.hex, vector.name);
      assert.deepStrictEqual(plain(decodeFrame(fromHex(vector.hex))), frame, vector.name);
    }
  });

  it("validate against the JSON Schema of their direction, and not of the other", () => {
    const { client, server } = frameValidators();
    for (const vector of vectors) {
      const [own, other] = vector.direction === "client" ? [client, server] : [server, client];
      assert.ok(own(vector.frame), `${vector.name}: ${JSON.stringify(own.errors)}`);
      // Some `t`s exist both ways (typing, call.offer, ...) but never with the same fields.
      assert.ok(!other(vector.frame), `${vector.name} also passes as the other direction`);
    }
  });

  it("client frames pass the server's decoder and validator, encoded by either implementation", () => {
    for (const vector of vectors.filter((v) => v.direction === "client")) {
      const frame = fromJsonValue(vector.frame);
      for (const bytes of [fromHex(vector.hex), encodeWithSecondLibrary(frame)]) {
        const validated = validateFrame(decodeValue(bytes));
        assert.ok(validated.ok, `${vector.name}: ${validated.ok ? "" : validated.msg}`);
        assert.equal(validated.frame.t, (frame as { t: string }).t);
      }
    }
  });
});
