import { join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * Node arguments that run the `router` command from a build made by `scripts/build.mjs --out
 * DIR` (DIR inside the checkout, so node_modules resolve); the command's own arguments follow.
 * `bin/router.mjs` only knows dist/: a build elsewhere is started through this.
 */
export function compiledRouterArgs(buildDir: string): string[] {
  const entry = pathToFileURL(join(buildDir, "src", "cli", "main.js")).href;
  // `-e` has no script path in argv: the command's own arguments start at argv[1].
  return ["--input-type=module", "-e", `const { main } = await import(${JSON.stringify(entry)}); process.exitCode = await main(process.argv.slice(1));`];
}
