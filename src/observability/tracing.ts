/**
 * OpenTelemetry tracing, when an OTLP endpoint is configured. Nothing here is loaded or called
 * otherwise: the node wires these hooks only when tracing is on, so off costs nothing.
 *
 * One trace follows a request: a span per request frame on the node holding the socket
 * (ended when the frame is answered), a span per actor message it causes (on whichever node
 * hosts the actor), and a span per store operation within those. Between nodes the context
 * travels as a W3C `traceparent` header on the NATS message.
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type TextMapGetter, type TextMapSetter, type Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";

export interface TracingOptions {
  /** The collector's base URL (`/v1/traces` is added) or its full traces URL. */
  endpoint: string;
  nodeId: string;
  version: string;
}

const propagator = new W3CTraceContextPropagator();
const mapSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => void (carrier[key] = value),
};
const functionGetter: TextMapGetter<(name: string) => string | undefined> = {
  get: (read, key) => read(key),
  keys: () => ["traceparent", "tracestate"],
};

let contextManagerInstalled = false;

/**
 * Actor messages carry their context here from `tell` to `handle`: nact queues them, and a
 * message handled after another would otherwise run in the context of the one before.
 */
const messageContexts = new WeakMap<object, Context>();

/** Where the traces URL ends: OTLP/HTTP's path for traces. */
export function tracesUrl(endpoint: string): string {
  const trimmed = endpoint.replace(/\/+$/, "");
  return trimmed.endsWith("/v1/traces") ? trimmed : `${trimmed}/v1/traces`;
}

export class NodeTracing {
  private readonly provider: BasicTracerProvider;
  private readonly tracer: Tracer;
  /** Request spans waiting for their answer, per connection, by request id. */
  private readonly openRequests = new WeakMap<object, Map<number, Span>>();

  constructor(options: TracingOptions) {
    // One context manager for the process (several nodes share it in tests); each node has its
    // own provider, so its spans carry its own node id and go through its own exporter.
    if (!contextManagerInstalled) {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      contextManagerInstalled = true;
    }
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": "router", "service.instance.id": options.nodeId, "service.version": options.version }),
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(options.endpoint) }), { scheduledDelayMillis: 1000 })],
    });
    this.tracer = this.provider.getTracer("router", options.version);
  }

  /**
   * Runs the handling of one client frame in its span. A frame with a request id keeps its span
   * open until `answered` sees the answer; anything else ends when handling returns.
   */
  request(connection: object, connectionId: number, frame: { t: string; r?: number }, run: () => void): void {
    const span = this.tracer.startSpan(`frame ${frame.t}`, { kind: SpanKind.SERVER, attributes: { "router.frame": frame.t, "router.conn": connectionId } }, context.active());
    try {
      context.with(trace.setSpan(context.active(), span), run);
    } catch (error) {
      span.recordException(error as Error);
      span.end();
      throw error;
    }
    if (typeof frame.r !== "number") {
      span.end();
      return;
    }
    let open = this.openRequests.get(connection);
    if (!open) {
      open = new Map();
      this.openRequests.set(connection, open);
    }
    // A request never answered (its node died and the client gave up) ends when replaced.
    open.get(frame.r)?.end();
    open.set(frame.r, span);
  }

  /** A frame leaves for `connection`: the answer to a request ends its span. */
  answered(connection: object, frame: { t: string; r?: number; code?: string }): void {
    if (typeof frame.r !== "number") return;
    const open = this.openRequests.get(connection);
    const span = open?.get(frame.r);
    if (!span) return;
    open!.delete(frame.r);
    span.setAttribute("router.answer", frame.t);
    if (frame.t === "err") span.setStatus({ code: SpanStatusCode.ERROR, message: frame.code ?? "err" });
    span.end();
  }

  /** Remembers the active context for `message`, which an actor will handle later. */
  told(message: object): void {
    const active = context.active();
    if (trace.getSpan(active)) messageContexts.set(message, active);
  }

  /**
   * Runs an actor's handling of `message` in a span, child of the context it was told in;
   * a message told outside any trace is handled as it is, with no span.
   */
  handled<T>(kind: string, message: object & { type?: string }, handle: () => T): T {
    const parent = messageContexts.get(message);
    if (!parent) return handle();
    messageContexts.delete(message);
    return this.inSpan(`${kind} ${message.type ?? "message"}`, { "router.actor": kind }, parent, handle);
  }

  /** Runs `call` in a child span of the active span; with no active span, just runs it. */
  child<T>(name: string, call: () => T): T {
    const active = context.active();
    if (!trace.getSpan(active)) return call();
    return this.inSpan(name, undefined, active, call);
  }

  /** The `traceparent` (and `tracestate`) of the active span, for a message to another node. */
  outgoingHeaders(): Record<string, string> | undefined {
    const active = context.active();
    if (!trace.getSpan(active)) return undefined;
    const carrier: Record<string, string> = {};
    propagator.inject(active, carrier, mapSetter);
    return carrier;
  }

  /** Runs `run` in the context another node sent in its headers (as is, when it sent none). */
  withIncoming(read: (name: string) => string | undefined, run: () => void): void {
    if (!read("traceparent")) {
      run();
      return;
    }
    context.with(propagator.extract(context.active(), read, functionGetter), run);
  }

  /** Exports what is buffered and stops. */
  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }

  private inSpan<T>(name: string, attributes: Attributes | undefined, parent: Context, call: () => T): T {
    const span = this.tracer.startSpan(name, { attributes }, parent);
    let result: T;
    try {
      result = context.with(trace.setSpan(parent, span), call);
    } catch (error) {
      failed(span, error);
      span.end();
      throw error;
    }
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          span.end();
          return value;
        },
        (error: unknown) => {
          failed(span, error);
          span.end();
          throw error;
        },
      ) as T;
    }
    span.end();
    return result;
  }
}

function failed(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR });
}
