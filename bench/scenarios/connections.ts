import { sleep } from "../lib/clock.ts";
import { diffHeapClasses, Inspector, type HeapUsage } from "../lib/inspector.ts";
import { countOpenFiles, readSockstat } from "../lib/proc.ts";
import type { Progress } from "../lib/progress.ts";
import { startRouterSystem, type RouterSystem } from "../lib/systems.ts";
import { LoadPool, split } from "../load/pool.ts";
import type { ClientSpec, Counters, OpenResult } from "../load/protocol.ts";

export interface ConnectionsOptions {
  /** Cumulative numbers of idle authenticated connections to measure at. */
  levels: number[];
  /** Clients per load process at most (each process stays under the open-file limit). */
  perProcess: number;
  heartbeatSeconds: number;
  /** The router's idle timeout for this run: short, so pings happen within the heartbeat window. */
  idleTimeoutSeconds: number;
  /** Connections in the separate heap-snapshot run. */
  snapshotClients: number;
}

export interface MemoryPoint {
  connections: number;
  rssKb: number;
  heap: HeapUsage;
  kernelTcpKb: number;
  openFiles: number;
}

export interface PerConnection {
  connections: number;
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  /** Kernel TCP memory of both ends of each loopback connection. */
  kernelBytes: number;
}

export interface ConnectionsResult {
  baseline: MemoryPoint;
  levels: MemoryPoint[];
  perConnection: PerConnection[];
  heartbeat: {
    connections: number;
    seconds: number;
    idleTimeoutSeconds: number;
    pings: number;
    pingIntervalSeconds: number;
    routerCpuMs: number;
    cpuPercent: number;
    cpuUsPerPing: number;
  };
  projection: {
    connections: number;
    rssGiB: number;
    heapGiB: number;
    kernelGiB: number;
    /** Heartbeat CPU at the default 60 s idle timeout, in cores. */
    heartbeatCores: number;
    notes: string[];
  };
  /** What one more connection costs in the JS heap, by constructor (heap snapshot diff). */
  heapPerConnection: Array<{ name: string; countPerConnection: number; bytesPerConnection: number }>;
}

async function measure(system: RouterSystem, inspector: Inspector, connections: number): Promise<MemoryPoint> {
  await sleep(2000);
  await inspector.collectGarbage();
  await sleep(500);
  return {
    connections,
    rssKb: system.rssKb(),
    heap: await inspector.memoryUsage(),
    kernelTcpKb: readSockstat().tcpMemKb,
    openFiles: countOpenFiles(system.router.pid),
  };
}

function idleSpecs(from: number, to: number): ClientSpec[] {
  return Array.from({ length: to - from }, (_, i) => ({ user: `c${from + i}`, index: from + i + 1 }));
}

async function openMore(pool: LoadPool, system: RouterSystem, specs: ClientSpec[]): Promise<void> {
  const parts = split(specs, pool.size);
  const results = await pool.each<OpenResult>((index) => ({ type: "open", target: system.target, clients: parts[index] ?? [], concurrency: 200 }));
  const failed = results.reduce((sum, result) => sum + result.failed, 0);
  if (failed > 0) throw new Error(`${failed} connections failed: ${results.find((r) => r.firstError)?.firstError}`);
}

async function startInspected(idleTimeoutSeconds: number): Promise<{ system: RouterSystem; inspector: Inspector }> {
  const system = await startRouterSystem({ nodeFlags: ["--inspect=127.0.0.1:0"], env: { ROUTER_IDLE_TIMEOUT_SECONDS: String(idleTimeoutSeconds) } });
  for (let i = 0; i < 50 && !system.router.inspectorUrl; i += 1) await sleep(100);
  if (!system.router.inspectorUrl) throw new Error("the router did not announce its inspector");
  return { system, inspector: await Inspector.connect(system.router.inspectorUrl) };
}

async function heapPerConnection(options: ConnectionsOptions, progress: Progress): Promise<ConnectionsResult["heapPerConnection"]> {
  const { system, inspector } = await startInspected(options.idleTimeoutSeconds);
  const pool = await LoadPool.start(1);
  try {
    // One client first, so lazily loaded code and one-off structures are in both snapshots.
    await openMore(pool, system, idleSpecs(0, 1));
    await inspector.collectGarbage();
    const before = await inspector.heapClasses();
    await openMore(pool, system, idleSpecs(1, options.snapshotClients + 1));
    await sleep(2000);
    await inspector.collectGarbage();
    const after = await inspector.heapClasses();
    const n = options.snapshotClients;
    progress(`heap snapshot diff over ${n} connections done`);
    return diffHeapClasses(before, after)
      .slice(0, 20)
      .map((entry) => ({ name: entry.name, countPerConnection: Math.round((100 * entry.count) / n) / 100, bytesPerConnection: Math.round(entry.selfBytes / n) }));
  } finally {
    inspector.close();
    await pool.close();
    await system.stop();
  }
}

export async function runConnectionsScenario(options: ConnectionsOptions, progress: Progress): Promise<ConnectionsResult> {
  const top = Math.max(...options.levels);
  const processes = Math.ceil(top / options.perProcess);
  const { system, inspector } = await startInspected(options.idleTimeoutSeconds);
  const pool = await LoadPool.start(processes);
  let result: Omit<ConnectionsResult, "heapPerConnection">;
  try {
    await openMore(pool, system, idleSpecs(0, 1));
    const baseline = await measure(system, inspector, 0);
    progress(`baseline: rss ${baseline.rssKb} KB, heap ${baseline.heap.heapUsedKb} KB`);
    const levels: MemoryPoint[] = [];
    let open = 1;
    for (const level of options.levels) {
      const startedAt = Date.now();
      await openMore(pool, system, idleSpecs(open, level));
      open = level;
      const point = await measure(system, inspector, level);
      levels.push(point);
      progress(
        `${level} idle authenticated connections (opened in ${((Date.now() - startedAt) / 1000).toFixed(1)} s): rss ${point.rssKb} KB, heap ${point.heap.heapUsedKb} KB, ` +
          `external ${point.heap.externalKb} KB, kernel tcp ${point.kernelTcpKb} KB, router fds ${point.openFiles}`,
      );
    }
    const perConnection = levels.map((point) => ({
      connections: point.connections,
      rssBytes: Math.round(((point.rssKb - baseline.rssKb) * 1024) / point.connections),
      heapUsedBytes: Math.round(((point.heap.heapUsedKb - baseline.heap.heapUsedKb) * 1024) / point.connections),
      externalBytes: Math.round(((point.heap.externalKb - baseline.heap.externalKb) * 1024) / point.connections),
      kernelBytes: Math.round(((point.kernelTcpKb - baseline.kernelTcpKb) * 1024) / point.connections),
    }));

    progress(`heartbeats: ${top} idle connections for ${options.heartbeatSeconds} s, idle timeout ${options.idleTimeoutSeconds} s`);
    const pingsBefore = (await pool.all<Counters>({ type: "counters" })).reduce((sum, c) => sum + c.pings, 0);
    const cpuBefore = system.cpuMs();
    await sleep(options.heartbeatSeconds * 1000);
    const routerCpuMs = system.cpuMs() - cpuBefore;
    const counters = await pool.all<Counters>({ type: "counters" });
    const pings = counters.reduce((sum, c) => sum + c.pings, 0) - pingsBefore;
    const closes = counters.reduce((sum, c) => sum + c.closes, 0);
    if (closes > 0) progress(`warning: ${closes} idle connections were closed by the router`);
    const pingIntervalSeconds = pings > 0 ? (options.heartbeatSeconds * top) / pings : 0;
    const heartbeat = {
      connections: top,
      seconds: options.heartbeatSeconds,
      idleTimeoutSeconds: options.idleTimeoutSeconds,
      pings,
      pingIntervalSeconds: Math.round(pingIntervalSeconds * 10) / 10,
      routerCpuMs,
      cpuPercent: Math.round((1000 * routerCpuMs) / (options.heartbeatSeconds * 1000)) / 10,
      cpuUsPerPing: pings > 0 ? Math.round((routerCpuMs * 1000) / pings) : 0,
    };
    progress(`heartbeats: ${pings} pings (one per connection every ${heartbeat.pingIntervalSeconds} s), router cpu ${heartbeat.cpuPercent}% of a core`);

    const last = perConnection.at(-1)!;
    const million = 1_000_000;
    // uWS pings a connection once per idle timeout or so: scale the measured interval to the default 60 s.
    const defaultInterval = pingIntervalSeconds > 0 ? (pingIntervalSeconds * 60) / options.idleTimeoutSeconds : 60;
    const gib = (bytes: number): number => Math.round((bytes / 2 ** 30) * 10) / 10;
    result = {
      baseline,
      levels,
      perConnection,
      heartbeat,
      projection: {
        connections: million,
        rssGiB: gib(baseline.rssKb * 1024 + last.rssBytes * million),
        heapGiB: gib(baseline.heap.heapUsedKb * 1024 + last.heapUsedBytes * million),
        kernelGiB: gib((last.kernelBytes * million) / 2),
        heartbeatCores: Math.round(((heartbeat.cpuUsPerPing * million) / defaultInterval / 1e6) * 100) / 100,
        notes: [
          "linear from the highest level measured; one process would need `ulimit -n` above 1,000,000 and a V8 old space (--max-old-space-size) above the projected heap",
          "kernel memory is halved because sockstat counts the client end of each loopback connection too",
          `heartbeat CPU assumes one ping per connection every ${Math.round(defaultInterval)} s at the default 60 s idle timeout (measured: every ${heartbeat.pingIntervalSeconds} s at ${options.idleTimeoutSeconds} s)`,
        ],
      },
    };
  } finally {
    inspector.close();
    await pool.close();
    await system.stop();
  }
  const heap = await heapPerConnection(options, progress);
  return { ...result, heapPerConnection: heap };
}
