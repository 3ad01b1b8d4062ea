import { ErrorCode, NatsError, RequestStrategy, type NatsConnection, type Subscription } from "nats";
import type { Logger } from "../util/logger.ts";
import type { NodeId } from "./ring.ts";

/** What a node tells an operator about itself. */
export interface NodeStatus {
  node: NodeId;
  address: string;
  version: string;
  startedAt: number;
  connections: number;
  actors: number;
  /** The ring as this node sees it: disagreement between nodes shows here. */
  members: NodeId[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function statusSubject(prefix: string): string {
  return `${prefix}.admin.status`;
}

function drainSubject(prefix: string, node: NodeId): string {
  return `${prefix}.admin.drain.${node.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/**
 * A node's side of the operator protocol: it answers status requests, and drains itself when
 * asked. NATS request/reply, JSON payloads, so `nats req` works as well as `router cluster`.
 */
export function serveAdmin(
  nats: NatsConnection,
  prefix: string,
  nodeId: NodeId,
  status: () => NodeStatus,
  drain: () => void,
  log: Logger,
): () => void {
  const subscriptions: Subscription[] = [
    nats.subscribe(statusSubject(prefix), {
      callback: (error, message) => {
        if (error) return log.warn({ err: error }, "admin status subscription error");
        message.respond(encoder.encode(JSON.stringify(status())));
      },
    }),
    nats.subscribe(drainSubject(prefix, nodeId), {
      callback: (error, message) => {
        if (error) return log.warn({ err: error }, "admin drain subscription error");
        log.warn("drain requested by an operator");
        message.respond(encoder.encode(JSON.stringify({ node: nodeId, draining: true })));
        drain();
      },
    }),
  ];
  return () => {
    for (const subscription of subscriptions) subscription.unsubscribe();
  };
}

/** Asks every node for its status; answers gathered until the nodes fall quiet. */
export async function clusterStatus(nats: NatsConnection, prefix: string, maxWaitMs = 2000): Promise<NodeStatus[]> {
  const replies = await nats.requestMany(statusSubject(prefix), undefined, {
    strategy: RequestStrategy.JitterTimer,
    jitter: 300,
    maxWait: maxWaitMs,
  });
  const statuses: NodeStatus[] = [];
  try {
    for await (const reply of replies) {
      if (reply.data.length === 0) continue;
      statuses.push(JSON.parse(decoder.decode(reply.data)) as NodeStatus);
    }
  } catch (error) {
    // The server says at once that nobody subscribes to the subject: no node of this prefix runs.
    if (error instanceof NatsError && error.code === ErrorCode.NoResponders) return [];
    throw error;
  }
  return statuses.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}

export class NoSuchNodeError extends Error {}

/** No node of the cluster answered a status request (none runs, or the prefix is wrong). */
export class NoRouterNodeError extends Error {
  override readonly name = "NoRouterNodeError";
}

export async function requestDrain(nats: NatsConnection, prefix: string, node: NodeId, timeoutMs = 5000): Promise<void> {
  try {
    await nats.request(drainSubject(prefix, node), undefined, { timeout: timeoutMs });
  } catch (error) {
    throw new NoSuchNodeError(`node ${node} did not answer the drain request`, { cause: error });
  }
}
