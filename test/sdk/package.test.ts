import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import type * as SdkFrames from "../../sdk/frames.ts";
import type * as ServerFrames from "../../src/protocol/frames.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const sdk = join(root, "sdk");
const manifest = JSON.parse(readFileSync(join(sdk, "package.json"), "utf8")) as {
  name: string;
  exports: Record<string, { types: string; default: string } | string>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};

// The SDK's frames are the server's, checked by the compiler both ways (tsc runs in `npm test`).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const inStep: [
  Same<SdkFrames.ClientFrame, ServerFrames.ClientFrame>,
  Same<SdkFrames.ServerFrame, ServerFrames.ServerFrame>,
  Same<SdkFrames.ErrorCode, ServerFrames.ErrorCode>,
  Same<typeof SdkFrames.CLOSE_CODES, typeof ServerFrames.CLOSE_CODES>,
] = [true, true, true, true];

const sdkSources = () => readdirSync(sdk).filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"));

describe("the SDK package", () => {
  // Inside the repository, so the built files find msgpackr and ws in its node_modules.
  mkdirSync(join(root, ".cache"), { recursive: true });
  const out = mkdtempSync(join(root, ".cache", "sdk-build-"));
  after(() => rmSync(out, { recursive: true, force: true }));

  it("carries the server's frames to the letter (node scripts/sdk-frames.mjs refreshes the copy)", () => {
    assert.deepEqual(inStep, [true, true, true, true]);
    const check = spawnSync(process.execPath, [join(root, "scripts", "sdk-frames.mjs"), "--check"], { encoding: "utf8" });
    assert.equal(check.status, 0, check.stderr);
  });

  it("imports nothing outside sdk/ but its declared packages, and no Node built-in", () => {
    const allowed = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)]);
    for (const name of sdkSources()) {
      const text = readFileSync(join(sdk, name), "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
      for (const match of text.matchAll(/^\s*(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm)) {
        const specifier = (match[1] ?? match[2])!;
        if (specifier.startsWith(".")) {
          const target = resolve(sdk, specifier);
          assert.equal(dirname(target), sdk, `${name} imports ${specifier}, outside sdk/`);
          assert.ok(existsSync(target), `${name} imports ${specifier}, which does not exist`);
        } else {
          assert.ok(allowed.has(specifier), `${name} imports ${specifier}, not a dependency of ${manifest.name}`);
        }
      }
    }
  });

  it("builds with its own tsconfig into JS whose browser entry never loads ws", async () => {
    const tsc = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(sdk, "tsconfig.json"), "--outDir", out], {
      encoding: "utf8",
    });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
    for (const [entry, target] of Object.entries(manifest.exports)) {
      if (typeof target === "string") continue;
      for (const file of [target.types, target.default]) {
        assert.ok(existsSync(join(out, file.replace("./dist/", ""))), `${entry}: ${file} built`);
      }
    }
    // Static imports reachable from the browser entry: ws is only ever named in node.js.
    const reachable = new Set<string>();
    const visit = (file: string) => {
      if (reachable.has(file)) return;
      reachable.add(file);
      const text = readFileSync(join(out, file), "utf8");
      for (const match of text.matchAll(/^\s*(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/gm)) {
        const specifier = match[1]!;
        if (specifier.startsWith("./")) visit(specifier.slice(2));
        else assert.notEqual(specifier, "ws", `${file} imports ws`);
      }
    };
    visit("index.js");
    assert.ok(!reachable.has("node.js"));
    const built = (await import(pathToFileURL(join(out, "node.js")).href)) as Record<string, unknown>;
    for (const name of ["ChatClient", "RouterClient", "RequestError", "uploadMedia", "startVerification", "encodeFrame", "CLOSE_CODES"]) {
      assert.ok(name in built, `exports ${name}`);
    }
  });
});
