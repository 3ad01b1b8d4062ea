import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
// @ts-expect-error: a plain .mjs module of the test runner, without types
import { behaviourSuites, lmdbBound } from "../../scripts/test-passes.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * Behaviour suites that build LMDB stores themselves, and so run on LMDB only (scripts/test.mjs
 * leaves the whole file out of the CQL pass), each for a reason. A test added to any other
 * suite's file with its own LMDB stores would silently take every test of that file off CQL:
 * it belongs in a file of its own, listed here.
 */
const LMDB_ONLY: Record<string, string> = {
  "test/router/operations.test.ts": "reads the store back to check that a deleted text is gone from disk",
  "test/router/supervision.test.ts": "real stores with bugs planted: requests that make the handling actor throw",
  "test/push/push-off.test.ts": "a push service with no provider, on stores of its own",
  "test/accounts/config.test.ts": "sign-up without an SMS sender: backend-independent, a node on stores of its own",
};

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return name.endsWith(".test.ts") ? [path] : [];
  });
}

describe("the CQL pass", () => {
  it("leaves out only the behaviour suites listed as LMDB-only", () => {
    const suites: string[] = behaviourSuites(root, testFiles(join(root, "test")));
    assert.ok(suites.length > 20, `behaviour suites found: ${suites.length}`);
    const bound = (lmdbBound(suites) as string[]).map((file) => relative(root, file)).sort();
    assert.deepEqual(bound, Object.keys(LMDB_ONLY).sort());
  });
});
