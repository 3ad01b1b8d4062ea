import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_OPTIONS, runFuzz } from "../../bench/fuzz/run.ts";
import { discoverFrameTypes, FRAME_SHAPES } from "../../bench/fuzz/shapes.ts";

// The full run is `npm run fuzz -- --frames 1000000` (bench/results/fuzz.md); this short one
// keeps the node honest against the same generator on every `npm test`.
describe("fuzzing a live node", () => {
  it("finds every inbound frame type of the validators", () => {
    const types = discoverFrameTypes();
    for (const t of ["hello", "send", "ack", "history", "group.create", "keys.put", "keys.get", "push.register", "push.dnd"]) assert.ok(types.includes(t), t);
    assert.ok(Object.keys(FRAME_SHAPES).length >= 20);
  });

  it("survives 5,000 random and mutated frames: no crash, healthz ok, the control pair in order, memory bounded", async () => {
    const seed = Number(process.env.ROUTER_FUZZ_SEED ?? 20261203);
    const lines: string[] = [];
    const result = await runFuzz({ ...DEFAULT_OPTIONS, frames: 5000, batchFrames: 2500, seed, log: (line) => lines.push(line) });
    const context = `seed ${seed} (replay: npm run fuzz -- --frames 5000 --batch 2500 --seed ${seed}):\n${lines.join("\n")}`;
    assert.equal(result.frames, 5000, context);
    assert.equal(result.crashes, 0, `${result.crash} ${context}`);
    assert.equal(result.healthFailures, 0, context);
    assert.deepEqual(result.controlFailures, [], context);
    assert.equal(result.controlMessagesExchanged, 2 * DEFAULT_OPTIONS.controlMessages, context);
    assert.equal(result.probeTimeouts, 0, context);
    assert.ok(result.rss.bounded, `RSS ${JSON.stringify(result.rss)} ${context}`);
    assert.equal(result.extensionFramesKeptOpen, 0, `frames with an extension type were taken: ${context}`);
    // The run reached the validators, not only the decoder.
    for (const code of ["bad_frame", "invalid_field", "hello_required", "unknown_type"]) assert.ok((result.errorsByCode[code] ?? 0) > 0, `no ${code}: ${JSON.stringify(result.errorsByCode)}`);
    assert.ok((result.rejectedByCode.bad_frame ?? 0) > 0, JSON.stringify(result.rejectedByCode));
    assert.equal(Object.values(result.restarts).reduce((a, b) => a + b, 0), 0, `actor restarts ${JSON.stringify(result.restarts)}`);
  });
});
