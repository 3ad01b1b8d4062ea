import { execFile, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../../test/support/ports.ts";
import { sleep } from "../../lib/clock.ts";
import { readCpuMs, readMemory } from "../../lib/proc.ts";

const run = promisify(execFile);
const CTL = "/usr/sbin/ejabberdctl";
const INSTALL_SCRIPT = join(import.meta.dirname, "install.sh");
const CONFIG_TEMPLATE = join(import.meta.dirname, "ejabberd.yml");
/** The Debian package's system user; its home holds the Erlang cookie ejabberdctl uses. */
const USER = "ejabberd";
const HOME = "/var/lib/ejabberd";
/** Schedulers that busy-wait for work would be counted as ejabberd's CPU time without doing any. */
const ERL_OPTIONS = "+sbwt none +sbwtdcpu none +sbwtdio none -env ERL_CRASH_DUMP_BYTES 0";

export class EjabberdUnavailableError extends Error {
  override readonly name = "EjabberdUnavailableError";
}

export function ejabberdInstalled(): boolean {
  return existsSync(CTL);
}

/** Installs Debian's ejabberd with install.sh when it is missing (root only); throws when it cannot. */
export function ensureEjabberd(): void {
  if (ejabberdInstalled()) return;
  const result = spawnSync("bash", [INSTALL_SCRIPT], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  if (result.status !== 0 || !ejabberdInstalled()) throw new EjabberdUnavailableError(`ejabberd is not installed: ${result.stderr.trim().split("\n").at(-1) ?? ""}`);
}

function userIds(name: string): { uid: number; gid: number } | undefined {
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((entry) => entry.startsWith(`${name}:`));
  const fields = line?.split(":");
  return fields ? { uid: Number(fields[2]), gid: Number(fields[3]) } : undefined;
}

/** The beam.smp process of `node`, found by its name on the command line. */
function beamPidOf(node: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (args[0]?.endsWith("beam.smp") && args.includes(node)) return Number(entry);
    } catch {
      // exited meanwhile
    }
  }
  return undefined;
}

/**
 * ejabberd as the bench's incumbent baseline: its own node (`bench<port>@localhost`) with its
 * own config, logs and mnesia spool in a temporary directory, on a free port, run as the
 * ejabberd user with the open-files limit raised. `setpriv` switches user without PAM, which
 * would reset the limit to 1,024 (`su`, as ejabberdctl itself uses, does).
 */
export class EjabberdProcess {
  private constructor(
    readonly port: number,
    readonly pid: number,
    private readonly dir: string,
    private readonly node: string,
  ) {}

  static async start(startTimeoutMs = 120_000): Promise<EjabberdProcess> {
    ensureEjabberd();
    const ids = userIds(USER);
    if (!ids) throw new EjabberdUnavailableError(`no ${USER} user: is the ejabberd package installed?`);
    if (process.getuid?.() !== 0) throw new EjabberdUnavailableError("starting ejabberd as its own user needs root");
    const port = await freePort();
    const node = `bench${port}@localhost`;
    const dir = mkdtempSync(join(tmpdir(), "ejabberd-bench-"));
    chmodSync(dir, 0o755);
    for (const sub of ["logs", "spool"]) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, "ejabberd.yml"), readFileSync(CONFIG_TEMPLATE, "utf8").replaceAll("@PORT@", String(port)));
    writeFileSync(join(dir, "ejabberdctl.cfg"), `ERL_OPTIONS="${ERL_OPTIONS}"\nERL_MAX_PORTS=65536\nEJABBERD_PID_PATH=${join(dir, "ejabberd.pid")}\n`);
    for (const path of [dir, ...["logs", "spool", "ejabberd.yml", "ejabberdctl.cfg"].map((name) => join(dir, name))]) chownSync(path, ids.uid, ids.gid);
    const server = new EjabberdProcess(port, 0, dir, node);
    try {
      await server.ctl(["start"], 30_000);
      await server.ctl(["started"], startTimeoutMs);
      const deadline = Date.now() + startTimeoutMs;
      let pid = beamPidOf(node);
      while (pid === undefined && Date.now() < deadline) {
        await sleep(100);
        pid = beamPidOf(node);
      }
      if (pid === undefined) throw new EjabberdUnavailableError(`ejabberd node ${node} did not appear`);
      return new EjabberdProcess(port, pid, dir, node);
    } catch (error) {
      await server.ctl(["stop"], 30_000).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get url(): string {
    return `xmpp://127.0.0.1:${this.port}/`;
  }

  cpuMs(): number {
    return readCpuMs(this.pid);
  }

  rssKb(): number {
    return readMemory(this.pid).rssKb;
  }

  async stop(): Promise<void> {
    await this.ctl(["stop"], 60_000).catch(() => {});
    const deadline = Date.now() + 30_000;
    while (existsSync(`/proc/${this.pid}`) && Date.now() < deadline) await sleep(100);
    if (existsSync(`/proc/${this.pid}`)) process.kill(this.pid, "SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** ejabberdctl for this node, as the ejabberd user, with the hard open-files limit. */
  private async ctl(command: string[], timeoutMs: number): Promise<void> {
    const options = ["--node", this.node, "--config", join(this.dir, "ejabberd.yml"), "--ctl-config", join(this.dir, "ejabberdctl.cfg"), "--logs", join(this.dir, "logs"), "--spool", join(this.dir, "spool")];
    const script = `ulimit -n "$(ulimit -Hn)" && exec setpriv --reuid=${USER} --regid=${USER} --init-groups env HOME=${HOME} ${CTL} "$@"`;
    try {
      await run("bash", ["-c", script, "ejabberdctl", ...options, ...command], { cwd: this.dir, timeout: timeoutMs });
    } catch (error) {
      const detail = error as { stdout?: string; stderr?: string };
      throw new EjabberdUnavailableError(`ejabberdctl ${command.join(" ")} failed: ${`${detail.stderr ?? ""}${detail.stdout ?? ""}`.trim().slice(0, 500) || String(error)}`);
    }
  }
}
