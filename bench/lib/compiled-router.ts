import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { compiledRouterArgs } from "../../test/support/compiled-router.ts";

let built: string | undefined;

/**
 * The router as a deployment runs it: compiled by `scripts/build.mjs` (tsc, as the Dockerfile
 * does) and run on plain node. From a checkout, `bin/router.mjs` runs the sources through tsx,
 * whose esbuild transform names every function it creates at run time (`__name`): a property
 * write on each closure, costing CPU on the hot path and a property array per closure kept in
 * memory, which no deployment pays. Built once per bench process, into a folder of its own
 * inside the checkout (.cache/, so node_modules resolve).
 * `BENCH_FROM_SOURCES=1` runs the sources instead (to measure an edit without building).
 */
export function routerLaunchArgs(repoRoot: string): string[] {
  if (process.env.BENCH_FROM_SOURCES === "1") return ["bin/router.mjs"];
  if (!built) {
    const out = join(repoRoot, ".cache", `bench-build-${process.pid}`);
    const build = spawnSync(process.execPath, ["scripts/build.mjs", "--out", out], { cwd: repoRoot, encoding: "utf8" });
    if (build.status !== 0) throw new Error(`building the router failed:\n${build.stdout}\n${build.stderr}`);
    process.once("exit", () => rmSync(out, { recursive: true, force: true }));
    built = out;
  }
  return compiledRouterArgs(built);
}
