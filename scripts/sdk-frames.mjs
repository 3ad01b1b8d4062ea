#!/usr/bin/env node
// Copies src/protocol/frames.ts into sdk/frames.ts: the SDK is a package of its own and may
// not import the server's sources, yet its frame types must be the server's, to the letter.
// test/sdk/frames-in-step.test.ts fails when the copy is stale; run this to refresh it.
//
//   node scripts/sdk-frames.mjs           write sdk/frames.ts
//   node scripts/sdk-frames.mjs --check   exit 1 when sdk/frames.ts differs
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "src", "protocol", "frames.ts");
const target = join(root, "sdk", "frames.ts");

export function sdkFramesText() {
  const header =
    "// Generated from src/protocol/frames.ts by scripts/sdk-frames.mjs: do not edit here.\n" +
    "// The SDK ships without the server's sources, so it carries its own copy of the frames.\n";
  return header + readFileSync(source, "utf8");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const wanted = sdkFramesText();
  if (process.argv.includes("--check")) {
    const current = readFileSync(target, "utf8");
    if (current !== wanted) {
      process.stderr.write("sdk/frames.ts is stale: run node scripts/sdk-frames.mjs\n");
      process.exit(1);
    }
  } else {
    writeFileSync(target, wanted);
  }
}
