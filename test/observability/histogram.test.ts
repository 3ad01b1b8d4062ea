import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Metrics } from "../../src/util/metrics.ts";
import { parseExposition, total } from "../support/scrape.ts";

describe("histograms in the exposition", () => {
  it("writes cumulative buckets with inclusive bounds, +Inf, sum and count per series", async () => {
    const metrics = new Metrics();
    const family = metrics.histogram("t_seconds", "test", ["op"], [0.1, 1]);
    const reads = family.labels("read");
    for (const value of [0.05, 0.1, 0.5, 1, 7]) reads.observe(value);
    family.labels("write").observe(0.2);
    const exposition = parseExposition(await metrics.render());
    assert.equal(exposition.types.get("t_seconds"), "histogram");
    const bucket = (op: string, le: string) => total(exposition, "t_seconds_bucket", { op, le });
    assert.deepEqual([bucket("read", "0.1"), bucket("read", "1"), bucket("read", "+Inf")], [2, 4, 5]);
    assert.deepEqual([bucket("write", "0.1"), bucket("write", "1"), bucket("write", "+Inf")], [0, 1, 1]);
    assert.equal(total(exposition, "t_seconds_sum", { op: "read" }), 0.05 + 0.1 + 0.5 + 1 + 7);
    assert.equal(total(exposition, "t_seconds_count", { op: "read" }), 5);
    assert.equal(await metrics.value("t_seconds", { op: "read" }), 5);
  });

  it("exports an unlabelled histogram before its first observation", async () => {
    const metrics = new Metrics();
    metrics.histogram("idle_seconds", "test");
    const exposition = parseExposition(await metrics.render());
    assert.equal(total(exposition, "idle_seconds_count"), 0);
    assert.ok(exposition.samples.some((sample) => sample.name === "idle_seconds_bucket" && sample.labels.le === "+Inf"));
  });

  it("refuses label values that do not match the declared names", () => {
    const metrics = new Metrics();
    const family = metrics.histogram("l_seconds", "test", ["a", "b"]);
    assert.throws(() => family.labels("only-one"), /takes 2 label values/);
  });
});
