import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { readCpuMs } from "../lib/proc.ts";
import type { Command, Reply } from "./protocol.ts";

const WORKER = join(import.meta.dirname, "worker.ts");
/** Below the 20,000 open files a process may hold, with room for the runtime's own. */
export const MAX_CLIENTS_PER_PROCESS = 18_000;

/** 127.0.0.11, .12, ...: each load process gets its own loopback source address. */
export function sourceAddress(index: number): string {
  return `127.0.0.${11 + index}`;
}

class LoadProcess {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  constructor(
    readonly index: number,
    private readonly child: ChildProcess,
  ) {
    child.on("message", (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.ok) waiter?.resolve(reply.result);
      else waiter?.reject(new Error(`load process ${index}: ${reply.error}`));
    });
    child.once("exit", (code, signal) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`load process ${index} exited (${signal ?? code})`));
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  call<T>(command: Command): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ ...command, id });
    });
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

/** The load-generator processes of one measurement. */
export class LoadPool {
  private constructor(readonly processes: LoadProcess[]) {}

  static async start(count: number): Promise<LoadPool> {
    const processes = Array.from({ length: count }, (_, index) => {
      // BENCH_LOAD_PROFILE_DIR=dir: each load process writes a V8 CPU profile there when it exits.
      const profileDir = process.env.BENCH_LOAD_PROFILE_DIR;
      const child = fork(WORKER, [], {
        execArgv: ["--import", "tsx", ...(profileDir ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : [])],
        env: { ...process.env, BENCH_LOCAL_ADDRESS: sourceAddress(index) },
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      return new LoadProcess(index, child);
    });
    return new LoadPool(processes);
  }

  get size(): number {
    return this.processes.length;
  }

  /** Sends each process its own command (or none, when `commandFor` gives undefined) and awaits them all. */
  async each<T>(commandFor: (index: number) => Command | undefined): Promise<T[]> {
    const calls = this.processes.map((worker) => {
      const command = commandFor(worker.index);
      return command ? worker.call<T>(command) : undefined;
    });
    return (await Promise.all(calls.filter((call) => call !== undefined))) as T[];
  }

  all<T>(command: Command): Promise<T[]> {
    return this.each<T>(() => command);
  }

  /** CPU the load processes used so far, in ms: the share of the machine the router did not get. */
  cpuMs(): number {
    return this.processes.reduce((sum, worker) => {
      try {
        return sum + readCpuMs(worker.pid);
      } catch {
        return sum;
      }
    }, 0);
  }

  async close(): Promise<void> {
    const closing = this.processes.map((worker) =>
      // A load process that does not answer within 10 s is killed below; the timer must not hold the runner open.
      Promise.race([worker.call({ type: "close" }).catch(() => {}), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]),
    );
    await Promise.all(closing);
    for (const worker of this.processes) worker.kill();
  }
}

/** Splits `items` into `parts` contiguous slices of near-equal size. */
export function split<T>(items: readonly T[], parts: number): T[][] {
  const out: T[][] = [];
  const size = Math.ceil(items.length / parts);
  for (let i = 0; i < parts; i += 1) out.push(items.slice(i * size, (i + 1) * size));
  return out;
}
