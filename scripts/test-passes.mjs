// Which test files run on which backend: shared by scripts/test.mjs, which runs the passes, and
// test/structure/backends.test.ts, which keeps files from leaving the CQL pass unnoticed.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

// The behaviour suites that run on both backends: the router's, push and media, which keep
// their own state in the message backend, accounts, calls, which record themselves in chats, and status.
export const BOTH_BACKEND_FOLDERS = ["router", "push", "media", "accounts", "calls", "status"];

// A behaviour test that builds LMDB stores itself runs on LMDB whichever the backend, so the
// cluster pass would only repeat it: the whole file is left out of the CQL pass.
const LMDB_BOUND = /openLmdbStores/;

/** The files of `files` (absolute paths) in a folder whose suites run on both backends. */
export function behaviourSuites(root, files) {
  const folders = BOTH_BACKEND_FOLDERS.map((folder) => join(root, "test", folder));
  return files.filter((file) => folders.includes(dirname(file)));
}

/** The files of `files` that build LMDB stores themselves. */
export function lmdbBound(files) {
  return files.filter((file) => LMDB_BOUND.test(readFileSync(file, "utf8")));
}
