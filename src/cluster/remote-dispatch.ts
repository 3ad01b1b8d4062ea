import { Packr } from "msgpackr";
import type { NatsConnection, Subscription } from "nats";
import type { CloseCode, ConnectionRef, ConversationMessage, UserMessage } from "../actors/messages.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import type { Logger } from "../util/logger.ts";
import { Ring, type NodeId } from "./ring.ts";

/** What one node asks of another. Every envelope names the node that sent it. */
export type Envelope =
  | { to: "user"; key: string; message: UserMessage; ifActive?: boolean; hops: number }
  | { to: "conversation"; key: string; message: ConversationMessage; hops: number }
  | { to: "client"; conn: ConnectionRef; frame: ServerFrame; ephemeral?: boolean }
  | { to: "close"; conn: ConnectionRef; code: CloseCode; reason: string }
  | { to: "close-user"; user: string; code: CloseCode; reason: string }
  | { to: "presence"; user: string; online: boolean; at?: number };

export interface EnvelopeHandler {
  (envelope: Envelope, from: NodeId): void;
}

/** Forwarding a message whose owner moved more than this often means the rings disagree. */
export const MAX_HOPS = 3;

// Between nodes only: records are fine here, but plain maps keep envelopes readable in a capture.
const packr = new Packr({ useRecords: false, variableMapSize: true, copyBuffers: true } as ConstructorParameters<typeof Packr>[0]);

function subjectToken(nodeId: NodeId): string {
  return nodeId.replace(/[^A-Za-z0-9_-]/g, "_");
}

/**
 * The protocol between nodes, written once (soketi's horizontal adapter is the model):
 * one NATS subject per node for messages to actors and connections it hosts, and one
 * subject every node hears for cluster-wide notices. MessagePack payloads; NATS keeps the
 * order of one publisher's messages on one subject, which is what per-chat order needs.
 */
export class RemoteDispatch {
  private ring: Ring;
  private subscriptions: Subscription[] = [];

  constructor(
    private readonly nats: NatsConnection,
    readonly nodeId: NodeId,
    private readonly subjectPrefix: string,
    private readonly log: Logger,
  ) {
    this.ring = Ring.of([nodeId]);
  }

  get members(): readonly NodeId[] {
    return this.ring.members;
  }

  setMembers(ids: Iterable<NodeId>): { before: Ring; after: Ring } {
    const before = this.ring;
    const after = Ring.of([...ids, this.nodeId]);
    this.ring = after;
    return { before, after };
  }

  ownerOf(key: string): NodeId {
    return this.ring.ownerOf(key);
  }

  start(handler: EnvelopeHandler): void {
    const onMessage = (data: Uint8Array) => {
      let decoded: { from: NodeId; envelope: Envelope };
      try {
        decoded = packr.unpack(data) as { from: NodeId; envelope: Envelope };
      } catch (error) {
        this.log.warn({ err: error }, "undecodable envelope dropped");
        return;
      }
      try {
        handler(decoded.envelope, decoded.from);
      } catch (error) {
        this.log.error({ err: error, to: decoded.envelope.to }, "envelope handling failed");
      }
    };
    for (const subject of [this.nodeSubject(this.nodeId), this.broadcastSubject()]) {
      this.subscriptions.push(
        this.nats.subscribe(subject, {
          callback: (error, message) => {
            if (error) this.log.warn({ err: error, subject }, "subscription error");
            else onMessage(message.data);
          },
        }),
      );
    }
  }

  send(node: NodeId, envelope: Envelope): void {
    this.publish(this.nodeSubject(node), envelope);
  }

  broadcast(envelope: Envelope): void {
    this.publish(this.broadcastSubject(), envelope);
  }

  async stop(): Promise<void> {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.subscriptions = [];
    await this.nats.flush().catch(() => undefined);
  }

  private publish(subject: string, envelope: Envelope): void {
    try {
      this.nats.publish(subject, packr.pack({ from: this.nodeId, envelope }));
    } catch (error) {
      // Closed or draining connection: the message is lost in transit. Durable messages are
      // recovered by devices from their cursors; this is counted and logged.
      this.log.warn({ err: error, subject, to: envelope.to }, "publish to peer failed");
    }
  }

  private nodeSubject(node: NodeId): string {
    return `${this.subjectPrefix}.node.${subjectToken(node)}`;
  }

  private broadcastSubject(): string {
    return `${this.subjectPrefix}.all`;
  }
}
