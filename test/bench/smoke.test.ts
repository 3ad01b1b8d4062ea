import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { silentProgress } from "../../bench/lib/progress.ts";
import { makeRecord, writeRecord } from "../../bench/lib/results.ts";
import { startRouterSystem } from "../../bench/lib/systems.ts";
import { writeReport } from "../../bench/report/report.ts";
import { runDirectRamp } from "../../bench/scenarios/direct-ramp.ts";

// The full benchmark runs are not part of `npm test`; this small one keeps the harness honest:
// a real router process, real load processes, the same code path as `npm run bench -- direct`.
describe("bench harness smoke run", () => {
  it("direct with 20 pairs for 2 s: every message sent arrives once, in order, with sane numbers", async () => {
    const system = await startRouterSystem();
    // The compiled build, as a deployment runs it (bench/lib/compiled-router.ts), not tsx.
    const commandLine = readFileSync(`/proc/${system.router.pid}/cmdline`, "utf8");
    assert.match(commandLine, /bench-build-\d+\/src\/cli\/main\.js/);
    assert.doesNotMatch(commandLine, /router\.mjs/);
    // The lean client, as `npm run bench -- direct` drives the router.
    system.target.lean = true;
    const startedAt = new Date();
    let ramp;
    try {
      ramp = await runDirectRamp(
        system,
        // The limit is generous: other test files share the machine; correctness is what is checked.
        { pairs: 20, processes: 2, rates: [200], stepSeconds: 2, drainMs: 5000, bodyBytes: 64, p99LimitMs: 10_000, halfRateCheck: false, warmupSeconds: 0 },
        silentProgress,
      );
    } finally {
      await system.stop();
    }
    assert.equal(ramp.clients, 40);
    const step = ramp.steps[0]!;
    assert.ok(step.sent >= 380, `sent ${step.sent}`);
    assert.ok(step.delivered > 0);
    assert.equal(step.delivered, step.sent, "every message sent was received");
    assert.equal(step.duplicates, 0, "no message was received twice");
    assert.equal(step.outOfOrder, 0, "each sender's messages arrived in order");
    assert.equal(step.lost, 0);
    assert.deepEqual(step.errors, {});
    assert.equal(step.closes, 0);
    assert.equal(step.ack.count, step.sent, "every send was answered durable");
    assert.equal(step.e2e.count, step.delivered);
    assert.ok(step.e2e.p50Ms > 0 && step.e2e.p50Ms <= step.e2e.p99Ms && step.e2e.p99Ms <= step.e2e.maxMs);
    assert.ok(step.serverCpuMsPer1000 > 0, "router CPU was read from /proc");
    assert.ok(step.loadCpuMsPer1000 > 0, "the load processes' CPU was read from /proc");
    assert.ok(step.serverRssKb > 10_000, "router RSS was read from /proc");

    const dir = mkdtempSync(join(tmpdir(), "bench-smoke-"));
    try {
      writeRecord(dir, makeRecord("direct", startedAt, {}, { router: ramp, baselines: {}, ratios: {} }));
      const report = readFileSync(writeReport(dir), "utf8");
      assert.match(report, /## Direct messages/);
      assert.match(report, /durable direct messages per second/);
      assert.ok(existsSync(join(dir, "direct-latency.svg")));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
