import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { readCpuMs, readMemory } from "../lib/proc.ts";

/**
 * A baseline server (a TypeScript file beside this one) as its own process, measured like the
 * router: it prints `listening PORT` on its first line once it accepts connections.
 */
export class ScriptProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  /** `nodeFlags` go to node itself (`--cpu-prof`, `--cpu-prof-dir=...`). */
  static async start(script: string, args: readonly string[] = ["0"], nodeFlags: readonly string[] = []): Promise<ScriptProcess> {
    const child = spawn(process.execPath, [...nodeFlags, "--import", "tsx", script, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    const port = await new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.once("line", (line) => resolve(Number(line.split(" ")[1])));
      child.once("exit", (code) => reject(new Error(`${script} exited with ${code} before listening`)));
    });
    return new ScriptProcess(child, port);
  }

  get pid(): number {
    return this.child.pid!;
  }

  cpuMs(): number {
    return readCpuMs(this.pid);
  }

  rssKb(): number {
    return readMemory(this.pid).rssKb;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    await exited;
  }
}
