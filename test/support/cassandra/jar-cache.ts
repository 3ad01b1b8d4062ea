import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CassandraPrerequisiteError, findMaven } from "./java-tools.ts";

/**
 * Cassandra's jars, fetched from Maven Central once per machine into a cache folder outside
 * the repository, so every clone and every CI job on that machine reuses them.
 */

const POM = fileURLToPath(new URL("./pom.xml", import.meta.url));
const MARKER = "complete.json";

export interface JarCache {
  readonly version: string;
  /** Folder holding cassandra-all and its runtime dependencies. */
  readonly lib: string;
}

interface Marker {
  pomSha256: string;
  jars: number;
}

/** `ROUTER_TEST_CACHE`, else `$XDG_CACHE_HOME/router-test` (default ~/.cache/router-test). */
export function cacheRoot(): string {
  const explicit = process.env["ROUTER_TEST_CACHE"];
  if (explicit) return explicit;
  const xdg = process.env["XDG_CACHE_HOME"] || join(homedir(), ".cache");
  return join(xdg, "router-test");
}

/** The jars for the Cassandra version pinned in pom.xml; runs Maven only when not cached yet. */
export async function ensureCassandraJars(log: (line: string) => void = () => {}): Promise<JarCache> {
  const pom = readFileSync(POM, "utf8");
  const version = pinnedVersion(pom);
  const folder = join(cacheRoot(), `cassandra-${version}`);
  const lib = join(folder, "lib");
  const pomSha256 = createHash("sha256").update(pom).digest("hex");
  if (isComplete(folder, lib, pomSha256)) return { version, lib };

  const mvn = findMaven();
  mkdirSync(folder, { recursive: true });
  // Download beside the final folder and rename it into place, so a half-finished or
  // concurrent download is never mistaken for a complete one.
  const staging = join(folder, `lib.partial-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  log(`fetching Cassandra ${version} jars from Maven Central into ${lib} (once per machine)`);
  await runMaven(mvn, staging);
  const jars = readdirSync(staging).filter((name) => name.endsWith(".jar")).length;
  if (!existsSync(join(staging, `cassandra-all-${version}.jar`))) {
    throw new CassandraPrerequisiteError(`maven finished but ${staging} has no cassandra-all-${version}.jar`);
  }
  rmSync(join(folder, MARKER), { force: true });
  rmSync(lib, { recursive: true, force: true });
  renameSync(staging, lib);
  const marker: Marker = { pomSha256, jars };
  writeFileSync(join(folder, MARKER), JSON.stringify(marker));
  return { version, lib };
}

function pinnedVersion(pom: string): string {
  const match = /<cassandra\.version>([^<]+)<\/cassandra\.version>/.exec(pom);
  if (!match?.[1]) throw new Error(`${POM} has no <cassandra.version> property`);
  return match[1].trim();
}

function isComplete(folder: string, lib: string, pomSha256: string): boolean {
  try {
    const marker = JSON.parse(readFileSync(join(folder, MARKER), "utf8")) as Partial<Marker>;
    if (marker.pomSha256 !== pomSha256) return false;
    const jars = readdirSync(lib).filter((name) => name.endsWith(".jar")).length;
    return jars === marker.jars;
  } catch {
    return false;
  }
}

function runMaven(mvn: string, outputDirectory: string): Promise<void> {
  const args = [
    "-B",
    "-q",
    "-f", POM,
    "dependency:copy-dependencies",
    "-DincludeScope=runtime",
    `-DoutputDirectory=${outputDirectory}`,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(mvn, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString("utf8")).slice(-8_000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.once("error", (error) =>
      reject(new CassandraPrerequisiteError(`cannot run ${mvn}: ${error.message}`, { cause: error })),
    );
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new CassandraPrerequisiteError(`mvn ${args.join(" ")} failed (${signal ?? `code ${code}`}):\n${output}`));
    });
  });
}
