import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/**
 * `router <args>` as a child process, for tests of how it starts or refuses to start: it
 * settles `outcome` with "listening" once the node logs so, or with its exit code (null: a
 * signal) once it exits, whichever comes first. Log lines and stderr stay readable.
 */
export class RouterRun {
  readonly lines: string[] = [];
  stderr = "";
  readonly exited: Promise<number | null>;
  readonly outcome: Promise<"listening" | number | null>;

  private constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    child.stderr!.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.outcome = new Promise((resolve) => {
      createInterface({ input: child.stdout! }).on("line", (line) => {
        this.lines.push(line);
        if (line.includes('"node listening"')) resolve("listening");
      });
      void this.exited.then(resolve);
    });
  }

  static start(args: string[], env: Record<string, string> = {}): RouterRun {
    const child = spawn(process.execPath, ["bin/router.mjs", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    return new RouterRun(child);
  }

  /** Stops it if it is still running (a test that failed leaves no node behind). */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}
