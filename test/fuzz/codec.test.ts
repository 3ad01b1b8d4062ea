import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decodeValue, encodeValue, frameSyntaxError, MAX_FRAME_DEPTH, UndecodableFrameError } from "../../src/protocol/codec.ts";
import { CLOSE_CODES, type ErrorFrame } from "../../src/protocol/frames.ts";
import { TestNode } from "../support/node.ts";

/** `{t: "send", r: 1, cid: "c", to: "bob", body: <raw>}` with `raw` spliced in as already-encoded bytes. */
function sendWithBody(raw: number[]): Uint8Array {
  const head = encodeValue({ t: "send", r: 1, cid: "c", to: "bob" });
  // Turn the 4-entry fixmap into 5 entries and append `body`.
  const out = [0x85, ...head.slice(1), 0xa4, ...Buffer.from("body"), ...raw];
  return new Uint8Array(out);
}

describe("codec: standard MessagePack only", () => {
  it("refuses every extension type, fixext and ext 8/16/32, wherever it sits", () => {
    const exts: number[][] = [
      [0xd4, 0x01, 0x00],
      [0xd5, 0x01, 0x00, 0x00],
      [0xd6, 0xff, 0, 0, 0, 1], // msgpackr's Date
      [0xd7, 0xff, 0, 0, 0, 0, 0, 0, 0, 1],
      [0xd8, 0x01, ...new Array(16).fill(0)],
      [0xc7, 4, 0x74, 1, 2, 3, 4], // msgpackr's typed arrays
      [0xc8, 0, 1, 0x01, 0],
      [0xc9, 0, 0, 0, 1, 0x01, 0],
    ];
    for (const ext of exts) {
      assert.equal(frameSyntaxError(new Uint8Array(ext)), "an extension type", ext.join(","));
      assert.throws(() => decodeValue(sendWithBody(ext)), UndecodableFrameError, ext.join(","));
      assert.throws(() => decodeValue(new Uint8Array([0x91, 0x91, ...ext])), UndecodableFrameError);
    }
  });

  it("refuses the reserved byte 0xc1 as a value, a key, or inside an array", () => {
    assert.throws(() => decodeValue(new Uint8Array([0xc1])), UndecodableFrameError);
    assert.throws(() => decodeValue(new Uint8Array([0x81, 0xa1, 0x74, 0xc1])), UndecodableFrameError);
    assert.throws(() => decodeValue(new Uint8Array([0x81, 0xc1, 0x01])), UndecodableFrameError);
    assert.throws(() => decodeValue(new Uint8Array([0x92, 0x01, 0xc1])), UndecodableFrameError);
  });

  it("refuses truncated values, trailing bytes, lying lengths and deep nesting", () => {
    const frame = encodeValue({ t: "send", r: 1, cid: "c", to: "bob", body: new Uint8Array(100) });
    for (let cut = 0; cut < frame.length; cut++) assert.notEqual(frameSyntaxError(frame.subarray(0, cut)), undefined, `cut at ${cut}`);
    assert.equal(frameSyntaxError(new Uint8Array([...frame, 0x01])), "bytes after the value");
    assert.equal(frameSyntaxError(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01])), "truncated");
    assert.equal(frameSyntaxError(new Uint8Array([0xdf, 0xff, 0xff, 0xff, 0xff])), "truncated");
    assert.equal(frameSyntaxError(new Uint8Array([0xc6, 0xff, 0xff, 0xff, 0xff, 0x00])), "truncated");
    const deep = new Uint8Array(MAX_FRAME_DEPTH + 2).fill(0x91);
    deep[deep.length - 1] = 0x01;
    assert.equal(frameSyntaxError(deep), "nested too deeply");
    const allowed = new Uint8Array(MAX_FRAME_DEPTH + 1).fill(0x91);
    allowed[allowed.length - 1] = 0x01;
    assert.equal(frameSyntaxError(allowed), undefined);
  });

  it("accepts every standard type and decodes it as before", () => {
    const value = {
      t: "x",
      nil: null,
      yes: true,
      no: false,
      ints: [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31) - 1],
      floats: [0.5, -1.25e300],
      strs: ["", "a".repeat(31), "b".repeat(32), "c".repeat(300), "d".repeat(70_000)],
      bins: [Buffer.alloc(0), Buffer.alloc(300, 1), Buffer.alloc(70_000, 2)],
      big: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, Array.from({ length: 20 }, (_, j) => j)])),
    };
    const bytes = encodeValue(value);
    assert.equal(frameSyntaxError(bytes), undefined);
    assert.deepEqual(decodeValue(bytes), value);
    // The 16- and 32-bit forms msgpackr does not pick itself.
    assert.deepEqual(decodeValue(new Uint8Array([0xdc, 0, 1, 0x05])), [5]);
    assert.deepEqual(decodeValue(new Uint8Array([0xdd, 0, 0, 0, 1, 0x05])), [5]);
    assert.deepEqual(decodeValue(new Uint8Array([0xde, 0, 1, 0xa1, 0x61, 0x05])), { a: 5 });
    assert.deepEqual(decodeValue(new Uint8Array([0xdf, 0, 0, 0, 1, 0xa1, 0x61, 0x05])), { a: 5 });
    assert.deepEqual(decodeValue(new Uint8Array([0xdb, 0, 0, 0, 1, 0x61])), "a");
    assert.deepEqual([...(decodeValue(new Uint8Array([0xc6, 0, 0, 0, 1, 0x07])) as Uint8Array)], [7]);
  });
});

describe("codec on a live node", () => {
  let node: TestNode;
  before(async () => {
    node = await TestNode.start();
  });
  after(async () => {
    await node.stop();
  });

  it("answers a send whose body is a typed array (an ext type) bad_frame, not sent", async () => {
    const client = await node.connect("extsender");
    // msgpackr's typed-array extension (0x74, kind 1: Uint8Array), which it used to decode
    // into a body that was stored and answered `sent`.
    client.sendBytes(sendWithBody([0xc7, 4, 0x74, 1, 1, 2, 3]));
    const err = await client.waitFor<ErrorFrame>((f) => f.t === "err" || f.t === "sent");
    assert.equal(err.t, "err");
    assert.equal(err.code, "bad_frame");
    assert.equal((await client.waitForClose()).code, CLOSE_CODES.unsupported_data);
  });

  it("answers a frame holding 0xc1 bad_frame", async () => {
    const client = await node.connect("c1sender");
    client.sendBytes(new Uint8Array([0x82, 0xa1, 0x74, 0xa4, ...Buffer.from("ping"), 0xa1, 0x72, 0xc1]));
    const err = await client.waitFor<ErrorFrame>((f) => f.t === "err" || f.t === "pong");
    assert.equal(err.t, "err");
    assert.equal(err.code, "bad_frame");
  });
});
