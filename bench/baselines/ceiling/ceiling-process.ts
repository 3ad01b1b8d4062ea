import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ScriptProcess } from "../script-process.ts";

/** The ceiling prototype (server.ts) on a free port with its own data directory and secret. */
export class CeilingProcess {
  private constructor(
    readonly server: ScriptProcess,
    readonly secret: string,
    readonly dataDir: string,
  ) {}

  static async start(nodeFlags: readonly string[] = []): Promise<CeilingProcess> {
    const secret = randomBytes(24).toString("hex");
    const dataDir = mkdtempSync(join(tmpdir(), "ceiling-bench-"));
    try {
      const server = await ScriptProcess.start(join(import.meta.dirname, "server.ts"), ["0", secret, dataDir], nodeFlags);
      return new CeilingProcess(server, secret, dataDir);
    } catch (error) {
      rmSync(dataDir, { recursive: true, force: true });
      throw error;
    }
  }

  get url(): string {
    return `ws://127.0.0.1:${this.server.port}/ws`;
  }

  async stop(): Promise<void> {
    await this.server.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
