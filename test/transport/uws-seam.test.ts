import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";

const root = join(import.meta.dirname, "..", "..");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

describe("the uWebSockets.js seam", () => {
  it("only src/uws.ts imports the package, so a newer build is a one-file change", () => {
    const importers = sources(join(root, "src"))
      .filter((path) => /from\s+["']uWebSockets\.js["']|import\(\s*["']uWebSockets\.js["']\s*\)/.test(readFileSync(path, "utf8")))
      .map((path) => relative(root, path));
    assert.deepEqual(importers, ["src/uws.ts"]);
  });
});
