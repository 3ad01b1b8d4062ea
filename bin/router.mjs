#!/usr/bin/env node
// The `router` command. It runs the compiled build in dist/ (`npm run build`) when there is
// one at least as new as the sources, and otherwise the TypeScript sources through tsx, so a
// checkout works right after `npm ci` and an edit is never shadowed by a stale build.
import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const BUILD_STAMP = `${root}dist/BUILD`;
const SOURCES = `${root}src`;

function newestModification(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? newestModification(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function builtIsCurrent() {
  if (!existsSync(BUILD_STAMP)) return false;
  // An image holds dist/ alone; a checkout holds both, and the newer wins.
  return !existsSync(SOURCES) || newestModification(SOURCES) <= statSync(BUILD_STAMP).mtimeMs;
}

let main;
if (builtIsCurrent()) {
  ({ main } = await import("../dist/src/cli/main.js"));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/cli/main.ts"));
}
process.exitCode = await main(process.argv.slice(2));
