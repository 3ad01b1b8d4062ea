import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "../util/logger.ts";

/** One file the demo serves, read once at start: no request ever names a path on disk. */
export interface Asset {
  body: Buffer;
  contentType: string;
}

export interface DemoAssets {
  /** URL path (`/demo/app.js`) → file. */
  files: Map<string, Asset>;
  /** The page itself, served at `/demo` and `/demo/`. */
  page: Asset;
  /** `'sha256-…'` of the page's inline import map, the one inline script the CSP allows. */
  importMapHash: string;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

const here = dirname(fileURLToPath(import.meta.url));
/** The checkout (running from sources) or dist/ (the build): both hold `sdk/dist` beside `src/`. */
const root = join(here, "..", "..");
const MSGPACKR_FILES = ["index.js", "pack.js", "unpack.js", "iterators.js"];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

function asset(path: string): Asset {
  return { body: readFileSync(path), contentType: CONTENT_TYPES[extname(path)] ?? "application/octet-stream" };
}

function urlPath(base: string, dir: string, file: string): string {
  return `${base}/${relative(dir, file).split(sep).join("/")}`;
}

/**
 * Loads the page, its script and style, the SDK's browser build and msgpackr's browser modules.
 * From sources, the SDK is compiled first when sdk/dist is missing or older than sdk/*.ts (the
 * build, scripts/build.mjs, compiles it into dist/sdk/dist).
 */
export async function loadDemoAssets(log: Logger): Promise<DemoAssets> {
  await buildSdkIfStale(log);
  const staticDir = join(here, "static");
  const sdkDir = join(root, "sdk", "dist");
  if (!existsSync(join(sdkDir, "index.js"))) throw new Error(`the demo needs the SDK's browser build in ${sdkDir}: run npm run build`);
  const msgpackrDir = dirname(fileURLToPath(import.meta.resolve("msgpackr")));
  const files = new Map<string, Asset>();
  for (const file of filesUnder(staticDir)) files.set(urlPath("/demo", staticDir, file), asset(file));
  // node.js registers the ws package for Node 20: browsers have their own WebSocket.
  const browserSdk = filesUnder(sdkDir).filter((path) => path.endsWith(".js") && path !== join(sdkDir, "node.js"));
  for (const file of browserSdk) files.set(urlPath("/demo/sdk", sdkDir, file), asset(file));
  for (const name of MSGPACKR_FILES) files.set(`/demo/vendor/msgpackr/${name}`, asset(join(msgpackrDir, name)));
  const page = files.get("/demo/index.html");
  if (!page) throw new Error(`no demo page in ${staticDir}`);
  const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(page.body.toString("utf8"))?.[1];
  if (importMap === undefined) throw new Error("the demo page has no import map");
  return { files, page, importMapHash: `'sha256-${createHash("sha256").update(importMap).digest("base64")}'` };
}

function newestChange(dir: string, skip: (path: string) => boolean): number {
  if (!existsSync(dir)) return 0;
  return Math.max(0, ...filesUnder(dir).filter((path) => !skip(path)).map((path) => statSync(path).mtimeMs));
}

/** Running from sources: compiles the SDK with its own tsconfig when its build is older than its sources. */
async function buildSdkIfStale(log: Logger): Promise<void> {
  const sdk = join(root, "sdk");
  const tsconfig = join(sdk, "tsconfig.json");
  const compiler = join(root, "node_modules", "typescript", "bin", "tsc");
  // The build (dist/) carries no sources: its SDK was compiled by scripts/build.mjs.
  if (!existsSync(tsconfig) || !existsSync(compiler)) return;
  const dist = join(sdk, "dist");
  const sources = newestChange(sdk, (path) => path.startsWith(dist + sep) || path.includes(`${sep}node_modules${sep}`) || !path.endsWith(".ts"));
  if (existsSync(join(dist, "index.js")) && newestChange(dist, () => false) >= sources) return;
  log.info({ dir: dist }, "demo: compiling the sdk for the browser");
  const status = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [compiler, "-p", tsconfig], { stdio: ["ignore", "inherit", "inherit"] });
    child.once("error", reject);
    child.once("exit", resolve);
  });
  if (status === 0) return;
  // tsc still writes JavaScript when the types are wrong: a type error in the SDK is reported
  // here, and only a missing build stops the demo (loadDemoAssets checks for it).
  log.error({ tsconfig, status }, "demo: compiling the sdk failed; serving what it wrote, if anything");
}
