import { readFileSync, readdirSync } from "node:fs";

/** Linux's USER_HZ and page size: fixed at 100 and 4096 on every x86-64 and arm64 kernel we run on. */
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

export interface ProcessMemory {
  rssKb: number;
  hwmKb: number;
  threads: number;
}

export function readMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return { rssKb: field("VmRSS"), hwmKb: field("VmHWM"), threads: field("Threads") };
}

/** User plus system CPU time the process has used, in milliseconds (10 ms resolution). */
export function readCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may hold spaces or parentheses: fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}

export function countOpenFiles(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export interface SocketMemory {
  tcpInUse: number;
  tcpOrphans: number;
  tcpTimeWait: number;
  /** Kernel memory held by every TCP socket on the machine (both ends of loopback connections). */
  tcpMemKb: number;
}

export function readSockstat(): SocketMemory {
  const text = readFileSync("/proc/net/sockstat", "utf8");
  const tcp = /^TCP:(.*)$/m.exec(text)?.[1] ?? "";
  const value = (name: string): number => Number(new RegExp(`\\b${name} (\\d+)`).exec(tcp)?.[1] ?? 0);
  return {
    tcpInUse: value("inuse"),
    tcpOrphans: value("orphan"),
    tcpTimeWait: value("tw"),
    tcpMemKb: (value("mem") * PAGE_BYTES) / 1024,
  };
}

/** CPU time of the whole machine, for the share the load generators and everything else took. */
export function readMachineCpuMs(): { busyMs: number; totalMs: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  const total = values.reduce((sum, value) => sum + value, 0);
  return { busyMs: ((total - idle) * 1000) / TICKS_PER_SECOND, totalMs: (total * 1000) / TICKS_PER_SECOND };
}

export interface ProcessIo {
  /** Bytes the process caused to be written to the block layer (page cache flushes included). */
  writeBytes: number;
  writeSyscalls: number;
}

export function readIo(pid: number): ProcessIo {
  const text = readFileSync(`/proc/${pid}/io`, "utf8");
  const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)`, "m").exec(text)?.[1] ?? 0);
  return { writeBytes: field("write_bytes"), writeSyscalls: field("syscw") };
}

/** CPU ms per thread, keyed by thread id: the main thread versus libuv's pool (lmdb commits) and V8's helpers. */
export function readThreadCpuMs(pid: number): Map<number, { name: string; cpuMs: number }> {
  const out = new Map<number, { name: string; cpuMs: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      out.set(Number(tid), { name, cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** Connections the kernel refused because a listen socket's accept queue was full (machine-wide). */
export function readListenOverflows(): number {
  const lines = readFileSync("/proc/net/netstat", "utf8").split("\n").filter((line) => line.startsWith("TcpExt:"));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  return Number(values[names.indexOf("ListenOverflows")] ?? 0);
}
