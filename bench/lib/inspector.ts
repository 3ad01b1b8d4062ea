import WebSocket from "ws";

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

export interface HeapUsage {
  rssKb: number;
  heapUsedKb: number;
  heapTotalKb: number;
  externalKb: number;
  arrayBuffersKb: number;
}

/** Objects of one constructor in a heap snapshot. */
export interface HeapClass {
  name: string;
  count: number;
  selfBytes: number;
}

/**
 * A minimal Chrome DevTools Protocol client for a router started with `--inspect`: the heap
 * figures behind "bytes per connection", measured after a full GC, which /metrics cannot give.
 */
export class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private chunkListener: ((chunk: string) => void) | undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { id?: number; method?: string; params?: { chunk?: string }; result?: unknown; error?: { message: string } };
      if (message.method === "HeapProfiler.addHeapSnapshotChunk") {
        this.chunkListener?.(message.params?.chunk ?? "");
        return;
      }
      if (message.id === undefined) return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error) waiter?.reject(new Error(message.error.message));
      else waiter?.resolve(message.result);
    });
  }

  static async connect(url: string): Promise<Inspector> {
    const socket = new WebSocket(url, { maxPayload: 1 << 30 });
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    return new Inspector(socket);
  }

  call<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  async collectGarbage(): Promise<void> {
    // Twice: the first pass frees objects whose finalisers release more.
    await this.call("HeapProfiler.collectGarbage");
    await this.call("HeapProfiler.collectGarbage");
  }

  async memoryUsage(): Promise<HeapUsage> {
    const result = await this.call<{ result: { value: string } }>("Runtime.evaluate", {
      expression: "JSON.stringify(process.memoryUsage())",
      returnByValue: true,
    });
    const usage = JSON.parse(result.result.value) as Record<string, number>;
    const kb = (name: string): number => Math.round((usage[name] ?? 0) / 1024);
    return { rssKb: kb("rss"), heapUsedKb: kb("heapUsed"), heapTotalKb: kb("heapTotal"), externalKb: kb("external"), arrayBuffersKb: kb("arrayBuffers") };
  }

  /** Takes a heap snapshot and totals its objects by constructor (what a DevTools "Summary" shows). */
  async heapClasses(): Promise<HeapClass[]> {
    const chunks: string[] = [];
    this.chunkListener = (chunk) => chunks.push(chunk);
    await this.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    this.chunkListener = undefined;
    return summarizeSnapshot(JSON.parse(chunks.join("")) as HeapSnapshot);
  }

  close(): void {
    this.socket.close();
  }
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

function summarizeSnapshot(snapshot: HeapSnapshot): HeapClass[] {
  const fields = snapshot.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const typeNames = snapshot.snapshot.meta.node_types[0];
  const classes = new Map<string, HeapClass>();
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = typeNames[snapshot.nodes[i + typeAt]!] ?? "?";
    // Objects are named by constructor; other node kinds (strings, closures, code) by kind.
    const name = type === "object" || type === "native" ? (snapshot.strings[snapshot.nodes[i + nameAt]!] ?? "?") : `(${type})`;
    const entry = classes.get(name) ?? { name, count: 0, selfBytes: 0 };
    entry.count += 1;
    entry.selfBytes += snapshot.nodes[i + sizeAt]!;
    classes.set(name, entry);
  }
  return [...classes.values()];
}

/** What `after` holds beyond `before`, largest first. */
export function diffHeapClasses(before: readonly HeapClass[], after: readonly HeapClass[]): HeapClass[] {
  const base = new Map(before.map((entry) => [entry.name, entry]));
  return after
    .map((entry) => ({ name: entry.name, count: entry.count - (base.get(entry.name)?.count ?? 0), selfBytes: entry.selfBytes - (base.get(entry.name)?.selfBytes ?? 0) }))
    .filter((entry) => entry.selfBytes > 0)
    .sort((a, b) => b.selfBytes - a.selfBytes);
}
