import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sourceFileOf } from "../../bench/lib/cpu-profile.ts";
import { REPO_ROOT } from "../../bench/lib/router-process.ts";
import { costPerMessage } from "../../bench/report/cost-split.ts";
import type { ProfiledRun } from "../../bench/scenarios/profile-run.ts";

function run(areas: Array<[string, number]>, deliveredPerSec: number, seconds: number): ProfiledRun {
  return {
    rate: deliveredPerSec,
    seconds,
    step: { deliveredPerSec } as ProfiledRun["step"],
    profile: { windowMs: 0, busyMs: 0, idleMs: 0, gcMs: 0, top: [], routerInclusive: [], areas: areas.map(([area, selfMs]) => ({ area, selfMs, percent: 0 })) },
    threads: [],
  };
}

describe("cost per message by kind of work", () => {
  it("puts the router's and the ceiling's files in the same kinds, in µs per delivered message", () => {
    // 2,000 messages: 1 ms of self time is 0.5 µs a message.
    const router = costPerMessage(run([["src/transport/connection.ts", 80], ["lmdb", 40], ["ordered-binary", 4], ["nact", 20], ["src/actors/user-delivery.ts", 6], ["GC", 10]], 1000, 2));
    const ceiling = costPerMessage(run([["ceiling/outbox.ts", 70], ["lmdb", 30], ["ceiling/ceiling-router.ts", 2]], 1000, 2));
    assert.equal(router.get("socket writes (connection flush, uWS)"), 40);
    assert.equal(ceiling.get("socket writes (connection flush, uWS)"), 35);
    assert.equal(router.get("LMDB writes and reads (lmdb, ordered-binary)"), 22);
    assert.equal(router.get("actors: nact dispatch"), 10);
    assert.equal(router.get("actors: the router's handlers (src/actors, push, observability)"), 3);
    assert.equal(ceiling.get("actors: the router's handlers (src/actors, push, observability)"), 1);
    assert.equal(router.get("garbage collection"), 5);
    assert.equal(ceiling.get("actors: nact dispatch"), 0);
  });
});

describe("profile frames named by their source file", () => {
  it("names the compiled router's files as the sources they were built from", () => {
    assert.equal(sourceFileOf(`file://${REPO_ROOT}/.cache/bench-build-3124/src/transport/connection.js`), "src/transport/connection.ts");
    assert.equal(sourceFileOf(`file://${REPO_ROOT}/src/actors/directory.ts`), "src/actors/directory.ts");
    assert.equal(sourceFileOf(`file://${REPO_ROOT}/node_modules/lmdb/write.js`), "node_modules/lmdb/write.js");
  });
});
