import { createServer, type Server } from "node:http";
import { gunzipSync } from "node:zlib";

/** One span as an OTLP/HTTP JSON export carries it, with the node (service instance) that sent it. */
export interface ReceivedSpan {
  node: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface ExportRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{ spans?: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: KeyValue[] }> }>;
  }>;
}

function plain(value: AnyValue): unknown {
  return value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((attribute) => [attribute.key, plain(attribute.value)]));
}

/**
 * A local OTLP/HTTP receiver, doing what a collector does with `POST /v1/traces`: it takes
 * the JSON export request (gzipped or not), decodes its spans and answers an empty
 * ExportTraceServiceResponse. Anything else is refused, so an exporter sending something
 * else fails the test instead of being quietly dropped.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Requests the receiver could not take, with why. */
  readonly refused: string[] = [];
  private waiters: Array<() => void> = [];

  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(): Promise<OtlpReceiver> {
    let receiver: OtlpReceiver | undefined;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const status = receiver!.take(request.method ?? "", request.url ?? "", request.headers, Buffer.concat(chunks));
        response.writeHead(status, { "content-type": "application/json" }).end(status === 200 ? "{}" : '{"error":"refused"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (!address || typeof address !== "object") throw new Error("the OTLP receiver has no port");
    receiver = new OtlpReceiver(server, address.port);
    return receiver;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Until `found` holds of the spans received so far. */
  async waitFor(found: (spans: readonly ReceivedSpan[]) => boolean, what: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!found(this.spans)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for ${what}; received: ${this.spans.map((s) => `${s.node}:${s.name}`).join(", ")}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private take(method: string, url: string, headers: Record<string, string | string[] | undefined>, body: Buffer): number {
    if (method !== "POST" || url !== "/v1/traces") {
      this.refused.push(`${method} ${url}`);
      return 404;
    }
    if (!String(headers["content-type"]).startsWith("application/json")) {
      this.refused.push(`content-type ${headers["content-type"]}`);
      return 415;
    }
    let request: ExportRequest;
    try {
      request = JSON.parse((headers["content-encoding"] === "gzip" ? gunzipSync(body) : body).toString("utf8")) as ExportRequest;
    } catch (error) {
      this.refused.push(`undecodable: ${String(error)}`);
      return 400;
    }
    for (const resourceSpans of request.resourceSpans ?? []) {
      const node = String(attributesOf(resourceSpans.resource?.attributes)["service.instance.id"] ?? "");
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          this.spans.push({ node, traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId ?? "", name: span.name, attributes: attributesOf(span.attributes) });
        }
      }
    }
    for (const wake of this.waiters.splice(0)) wake();
    return 200;
  }
}
