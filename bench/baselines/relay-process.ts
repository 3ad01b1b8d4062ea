import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { readCpuMs, readMemory } from "../lib/proc.ts";

/** The plain relay (plain-relay.ts) as its own process, measured like the router. */
export class RelayProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(): Promise<RelayProcess> {
    const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "plain-relay.ts"), "0"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const port = await new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.once("line", (line) => resolve(Number(line.split(" ")[1])));
      child.once("exit", (code) => reject(new Error(`relay exited with ${code} before listening`)));
    });
    return new RelayProcess(child, port);
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/`;
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
