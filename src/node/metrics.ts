import { Metrics } from "../util/metrics.ts";

export type NodeCounters = ReturnType<typeof nodeCounters>;

/** The node's metrics registry and the counters its parts increment. */
export function nodeMetrics(): { metrics: Metrics; counters: NodeCounters } {
  const metrics = new Metrics();
  return { metrics, counters: nodeCounters(metrics) };
}

function nodeCounters(metrics: Metrics) {
  return {
    framesIn: metrics.counter("router_frames_in_total", "Frames received from clients"),
    framesOut: metrics.counter("router_frames_out_total", "Frames sent to clients"),
    rejected: metrics.counter("router_frames_rejected_total", "Inbound frames answered with an error, by code"),
    stored: metrics.counter("router_messages_stored_total", "Messages made durable"),
    restarts: metrics.counter("router_actor_restarts_total", "Actors restarted after a crash, by kind"),
    escalations: metrics.counter("router_actor_escalations_total", "Actors stopped for crashing too often, by kind"),
    deadLetters: metrics.counter("router_dead_letters_total", "Messages for actors that could not take them, by kind"),
    droppedEphemeral: metrics.counter("router_ephemeral_dropped_total", "Typing and presence frames dropped under backpressure"),
    slowConsumers: metrics.counter("router_slow_consumers_total", "Connections closed because their send buffer overflowed"),
    opened: metrics.counter("router_connections_opened_total", "WebSocket connections accepted"),
    accounts: metrics.counter("router_account_requests_total", "Sign-up and refresh requests answered, by route, status and error"),
    writeConflicts: metrics.counter("router_write_conflicts_total", "Message batches refused because another node had written the chat"),
    push: metrics.counter("router_push_total", "Push decisions per device, by outcome"),
  };
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
