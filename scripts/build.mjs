#!/usr/bin/env node
// `npm run build`: compiles src/ and sdk/ to dist/ (ES modules with source maps), the SDK's
// browser build to dist/sdk/dist (what the demo serves), copies the files the code reads at run
// time (CQL migrations, the demo's page), and stamps the build so bin/router.mjs can tell whether
// dist/ is older than the sources.
//
//   node scripts/build.mjs              into dist/
//   node scripts/build.mjs --out DIR    elsewhere (tests build into a folder of their own)
import { spawnSync } from "node:child_process";
import { cpSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { out: { type: "string" } } });
const dist = values.out ? resolve(values.out) : join(root, "dist");
const ASSET = /\.cql$|[\\/]demo[\\/]static[\\/]/;

function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.build.json"), "--outDir", dist], {
  stdio: "inherit",
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
// The SDK as its own package compiles it (browser and Node alike): the demo serves this copy.
const sdk = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "sdk", "tsconfig.json"), "--outDir", join(dist, "sdk", "dist")], {
  stdio: "inherit",
});
if (sdk.status !== 0) process.exit(sdk.status ?? 1);
for (const file of filesUnder(join(root, "src")).filter((path) => ASSET.test(path))) {
  cpSync(file, join(dist, relative(root, file)));
}
writeFileSync(join(dist, "BUILD"), `${new Date().toISOString()}\n`);
process.stderr.write(`build: ${relative(process.cwd(), dist) || "."} written\n`);
