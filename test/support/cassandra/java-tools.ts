import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** Java or Maven is missing or unusable: the tests cannot get a Cassandra, and say so. */
export class CassandraPrerequisiteError extends Error {
  override readonly name = "CassandraPrerequisiteError";
}

// Cassandra 5.0 runs on JDK 11 and 17 only; the module flags in node-config.ts are 17's.
const SUPPORTED_JAVA_MAJOR = 17;

/** `$JAVA_HOME/bin/java` if JAVA_HOME is set, else `java` on PATH; must be JDK 17. */
export function findJava17(): string {
  const javaHome = process.env["JAVA_HOME"];
  const java = javaHome ? join(javaHome, "bin", "java") : findOnPath("java");
  if (!java || !isExecutable(java)) {
    throw new CassandraPrerequisiteError(
      javaHome
        ? `JAVA_HOME=${javaHome} has no bin/java`
        : "java not found on PATH: install a JDK 17 (apt-get install openjdk-17-jre-headless) or set JAVA_HOME",
    );
  }
  const major = javaMajorVersion(java);
  if (major !== SUPPORTED_JAVA_MAJOR) {
    throw new CassandraPrerequisiteError(
      `${java} is Java ${major ?? "(unknown version)"}; Cassandra 5.0 needs Java ${SUPPORTED_JAVA_MAJOR}: set JAVA_HOME to a JDK 17`,
    );
  }
  return java;
}

/** `mvn` on PATH (or `$MAVEN_HOME/bin/mvn`). */
export function findMaven(): string {
  const mavenHome = process.env["MAVEN_HOME"];
  const mvn = mavenHome ? join(mavenHome, "bin", "mvn") : findOnPath("mvn");
  if (!mvn || !isExecutable(mvn)) {
    throw new CassandraPrerequisiteError(
      mavenHome
        ? `MAVEN_HOME=${mavenHome} has no bin/mvn`
        : "mvn not found on PATH: install Maven (apt-get install maven) or set MAVEN_HOME; it fetches Cassandra from Maven Central once",
    );
  }
  return mvn;
}

function javaMajorVersion(java: string): number | undefined {
  // `java -version` prints to stderr, e.g. `openjdk version "17.0.15" 2025-04-15`.
  const result = spawnSync(java, ["-version"], { encoding: "utf8" });
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr}${result.stdout}`);
  if (!match) return undefined;
  const first = Number(match[1]);
  // Java 8 and older report "1.8.0_x".
  return first === 1 ? Number(match[2]) : first;
}

function findOnPath(name: string): string | undefined {
  for (const folder of (process.env["PATH"] ?? "").split(delimiter)) {
    if (!folder) continue;
    const candidate = join(folder, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
