import { ClientLatency } from "../observability/latency.ts";
import { instrumentStores } from "../observability/store-metrics.ts";
import type { NodeTracing } from "../observability/tracing.ts";
import type { NodeConfig } from "../config.ts";
import type { Backend } from "../storage/open-stores.ts";
import { VERSION } from "../version.ts";
import type { Shutdown } from "./shutdown.ts";
import { Metrics } from "../util/metrics.ts";

export type NodeCounters = ReturnType<typeof nodeCounters>;
export type NodeHistograms = ReturnType<typeof nodeHistograms>;

/** The node's metrics registry, the counters its parts increment and the latencies they observe. */
export function nodeMetrics(): { metrics: Metrics; counters: NodeCounters; histograms: NodeHistograms; latency: ClientLatency } {
  const metrics = new Metrics();
  metrics.watchProcess();
  const histograms = nodeHistograms(metrics);
  const latency = new ClientLatency({
    sendToDurable: histograms.sendToDurable.labels(),
    durableToDelivered: histograms.durableToDelivered.labels(),
    helloToSynced: histograms.helloToSynced.labels(),
  });
  return { metrics, counters: nodeCounters(metrics), histograms, latency };
}

function nodeCounters(metrics: Metrics) {
  return {
    framesIn: metrics.counter("router_frames_in_total", "Frames received from clients"),
    framesOut: metrics.counter("router_frames_out_total", "Frames sent to clients"),
    rejected: metrics.counter("router_frames_rejected_total", "Inbound frames answered with an error, by code", ["code"]),
    stored: metrics.counter("router_messages_stored_total", "Messages made durable"),
    restarts: metrics.counter("router_actor_restarts_total", "Actors restarted after a crash, by kind", ["kind"]),
    escalations: metrics.counter("router_actor_escalations_total", "Actors stopped for crashing too often, by kind", ["kind"]),
    deadLetters: metrics.counter("router_dead_letters_total", "Messages for actors that could not take them, by kind", ["kind"]),
    droppedEphemeral: metrics.counter("router_ephemeral_dropped_total", "Typing and presence frames dropped under backpressure"),
    slowConsumers: metrics.counter("router_slow_consumers_total", "Connections closed because their send buffer overflowed"),
    opened: metrics.counter("router_connections_opened_total", "WebSocket connections accepted"),
    accounts: metrics.counter("router_account_requests_total", "Sign-up and refresh requests answered, by route, status and error", ["route", "status", "error"]),
    writeConflicts: metrics.counter("router_write_conflicts_total", "Message batches refused because another node had written the chat"),
    push: metrics.counter("router_push_total", "Push decisions per device, by outcome", ["outcome"]),
  };
}

function nodeHistograms(metrics: Metrics) {
  return {
    sendToDurable: metrics.histogram("router_send_to_durable_seconds", "From a `send` arriving to its `sent` (durable) leaving, on the sender's node"),
    durableToDelivered: metrics.histogram(
      "router_durable_to_delivered_seconds",
      "From a message's acceptance by its chat's writer (just before its durable write) to a live `msg` leaving for a synced device",
    ),
    helloToSynced: metrics.histogram("router_hello_to_synced_seconds", "From `hello` arriving to `synced` leaving (authentication, attach and replay)"),
    storeLatency: metrics.histogram("router_store_operation_seconds", "Store operations, by backend, store and operation", ["backend", "store", "operation"]),
    storeFailures: metrics.counterFamily("router_store_failures_total", "Store operations that failed, by backend, store and operation", ["backend", "store", "operation"]),
    natsDispatch: metrics.histogram("router_nats_dispatch_seconds", "From an envelope queued for a peer node to its batch arriving there"),
  };
}

/**
 * Tracing, when `ROUTER_OTEL_ENDPOINT` names a collector; otherwise undefined, and OpenTelemetry
 * is not even loaded. Added to the shutdown early, so it runs late: spans of the stop are exported.
 */
export async function startTracing(config: NodeConfig, shutdown: Shutdown): Promise<NodeTracing | undefined> {
  if (!config.tracing.otelEndpoint) return undefined;
  const { NodeTracing } = await import("../observability/tracing.ts");
  const tracing = new NodeTracing({ endpoint: config.tracing.otelEndpoint, nodeId: config.nodeId, version: VERSION });
  shutdown.add({ name: "export traces", run: () => tracing.shutdown() });
  return tracing;
}

/** The backend with every store operation timed, and traced when tracing is on. */
export function instrumentBackend(backend: Backend, histograms: NodeHistograms, tracing: NodeTracing | undefined): Backend {
  const timers = { latency: histograms.storeLatency, failures: histograms.storeFailures };
  const span = tracing ? <T>(name: string, call: () => T) => tracing.child(name, call) : undefined;
  return { ...backend, stores: instrumentStores(backend.stores, span ? { ...timers, span } : timers) };
}

/** Gauges sampled at scrape time from what the node holds. */
export function watchGauges(
  metrics: Metrics,
  sources: { connections(): number; calls(): number; userActors(): number; conversationActors(): number; redisUp(): number | undefined },
): void {
  metrics.gauge("router_connections", "Open WebSocket connections", sources.connections);
  metrics.gauge("router_calls", "Calls held by this node", sources.calls);
  metrics.gauge("router_user_actors", "Live user actors", sources.userActors);
  metrics.gauge("router_conversation_actors", "Live conversation actors", sources.conversationActors);
  if (sources.redisUp() !== undefined) {
    metrics.gauge("router_redis_up", "1 while Redis answers; 0 while presence runs degraded without it", () => sources.redisUp() ?? 0);
  }
}
