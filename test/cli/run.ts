import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { main } from "../../src/cli/main.ts";

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `router <args>` to its end, as another user when `uid` is given. */
export function router(args: string[], options: { env?: Record<string, string>; uid?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/router.mjs", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * `router <args>` in this process, its output captured: for the many cases of help and usage
 * errors, which start nothing. A few of each also run as processes below, for what only a
 * process shows (a stack trace on stderr, the exit code).
 */
export async function inProcess(args: string[]): Promise<Run> {
  const run: Run = { code: null, stdout: "", stderr: "" };
  const { write: out } = process.stdout;
  const { write: err } = process.stderr;
  process.stdout.write = ((chunk: string) => ((run.stdout += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((run.stderr += chunk), true)) as typeof process.stderr.write;
  try {
    run.code = await main(args);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return run;
}

/** Runs `work` over `items`, a few at a time: each run is a Node process on a busy machine. */
export async function few<T, R>(items: readonly T[], work: (item: T) => Promise<R>, width = 3): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!);
      }
    }),
  );
  return results;
}

/** One line on stderr naming the problem: no stack, none of Node's own argument-parser text. */
export function assertOneLine(run: Run, pattern: RegExp): void {
  assert.equal(run.stderr.trim().split("\n").length, 1, `one line: ${run.stderr}`);
  assert.match(run.stderr.trim(), pattern);
  assert.doesNotMatch(run.stderr, /^\s+at |ERR_PARSE_ARGS|TypeError|NatsError/m, run.stderr);
}

