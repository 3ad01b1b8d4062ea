import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The router's version, from its package.json: the nearest one above this file that is the
 * router's, which is the checkout's from src/ and the image's from dist/src/.
 */
function readVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const path = join(dir, "package.json");
    if (existsSync(path)) {
      const manifest = JSON.parse(readFileSync(path, "utf8")) as { name?: string; version?: string };
      if (manifest.name === "router" && manifest.version) return manifest.version;
    }
    if (dirname(dir) === dir) return "unknown";
  }
}

export const VERSION = readVersion();
