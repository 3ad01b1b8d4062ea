import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { REPO_ROOT } from "./router-process.ts";

export interface MachineDescription {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  os: string;
  node: string;
  openFilesLimit: string;
  commit: string;
  dirty: boolean;
}

function quiet(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "";
  }
}

export function describeMachine(): MachineDescription {
  const osRelease = (() => {
    try {
      return /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "";
    } catch {
      return "";
    }
  })();
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    os: osRelease,
    node: process.version,
    openFilesLimit: quiet("sh", ["-c", "ulimit -n"]),
    commit: quiet("git", ["rev-parse", "--short", "HEAD"]),
    dirty: quiet("git", ["status", "--porcelain", "--untracked-files=no"]) !== "",
  };
}
