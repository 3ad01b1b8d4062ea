import { Packr } from "msgpackr";
import { headers, type MsgHdrs, type NatsConnection, type Subscription } from "nats";
import type { ConversationMessage, UserMessage } from "../actors/messages.ts";
import type { CloseCode, ConnectionRef, FrameShare } from "../seams.ts";
import type { PresenceShown } from "../actors/presence-hub.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import type { CallMessage } from "../calls/messages.ts";
import type { Logger } from "../util/logger.ts";
import { Ring, type NodeId } from "./ring.ts";

/** What one node asks of another. Every envelope names the node that sent it. */
export type Envelope =
  | { to: "user"; key: string; message: UserMessage; ifActive?: boolean; hops: number }
  | { to: "conversation"; key: string; message: ConversationMessage; ifActive?: boolean; hops: number }
  | { to: "client"; conn: ConnectionRef; frame: ServerFrame; ephemeral?: boolean }
  | { to: "close"; conn: ConnectionRef; code: CloseCode; reason: string }
  | { to: "limit"; conn: ConnectionRef; share: FrameShare }
  | { to: "close-user"; user: string; code: CloseCode; reason: string }
  | { to: "presence"; user: string; online: boolean; at?: number; shown?: PresenceShown }
  /** To the node a call's id names (src/calls/call-id.ts). */
  | { to: "call"; key: string; message: CallMessage };

/** Sees each batch arrive: how long since its first envelope was queued on the sending node. */
export interface DispatchObserver {
  dispatched: { observe(seconds: number): void };
  /** With tracing on: the active trace's headers to send, and the received ones to continue. */
  tracing?: {
    outgoingHeaders(): Record<string, string> | undefined;
    withIncoming(read: (name: string) => string | undefined, run: () => void): void;
  };
}

/**
 * Wall-clock milliseconds (fractional) when a batch's first envelope was queued. A header, so
 * peers that do not read it are unaffected; across machines it is as good as their clock sync.
 */
const QUEUED_AT_HEADER = "Router-Queued-At";

/** Wall-clock milliseconds with sub-millisecond precision. */
const wallNow = () => performance.timeOrigin + performance.now();

export interface EnvelopeHandler {
  (envelope: Envelope, from: NodeId): void;
}

/** Forwarding a message whose owner moved more than this often means the rings disagree. */
export const MAX_HOPS = 3;

// A batch goes out when the event loop turns or when it grows past this, well below NATS's
// default 1 MiB max_payload even with one more full-size frame on top.
const BATCH_FLUSH_BYTES = 256 * 1024;

/** Envelopes for one subject, packed one by one, waiting to go out as one NATS message. */
interface PendingBatch {
  parts: Uint8Array[];
  bytes: number;
  queuedAt: number;
}

// Between nodes only: records are fine here, but plain maps keep envelopes readable in a capture.
const packr = new Packr({ useRecords: false, variableMapSize: true, copyBuffers: true } as ConstructorParameters<typeof Packr>[0]);

function subjectToken(nodeId: NodeId): string {
  return nodeId.replace(/[^A-Za-z0-9_-]/g, "_");
}

/** MessagePack array header for `length` items. */
function arrayHeader(length: number): Uint8Array {
  if (length < 16) return Uint8Array.of(0x90 | length);
  if (length < 0x10000) return Uint8Array.of(0xdc, length >> 8, length & 0xff);
  const header = new Uint8Array(5);
  header[0] = 0xdd;
  new DataView(header.buffer).setUint32(1, length);
  return header;
}

/**
 * The protocol between nodes, written once (soketi's horizontal adapter is the model):
 * one NATS subject per node for messages to actors and connections it hosts, and one
 * subject every node hears for cluster-wide notices. MessagePack payloads; NATS keeps the
 * order of one publisher's messages on one subject, which is what per-chat order needs.
 *
 * Envelopes bound for one subject within one turn of the event loop travel as one NATS
 * message, `[from, envelope, envelope, ...]`: under load a node sends each peer a few large
 * messages instead of thousands of small ones, for at most one turn of added latency.
 */
export class RemoteDispatch {
  private ring: Ring;
  private subscriptions: Subscription[] = [];
  private readonly pending = new Map<string, PendingBatch>();
  private flushScheduled = false;

  constructor(
    private readonly nats: NatsConnection,
    readonly nodeId: NodeId,
    private readonly subjectPrefix: string,
    private readonly log: Logger,
    private readonly observer?: DispatchObserver,
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
    const handle = (envelope: Envelope, from: NodeId) => {
      try {
        handler(envelope, from);
      } catch (error) {
        this.log.error({ err: error, to: envelope.to }, "envelope handling failed");
      }
    };
    const onMessage = (data: Uint8Array, headers: MsgHdrs | undefined) => {
      const queuedAt = Number(headers?.get(QUEUED_AT_HEADER));
      if (this.observer && queuedAt > 0) this.observer.dispatched.observe(Math.max(0, wallNow() - queuedAt) / 1000);
      let decoded: unknown;
      try {
        decoded = packr.unpack(data);
      } catch (error) {
        this.log.warn({ err: error }, "undecodable envelope dropped");
        return;
      }
      if (!Array.isArray(decoded) || typeof decoded[0] !== "string") {
        this.log.warn("malformed envelope batch dropped");
        return;
      }
      const [from, ...envelopes] = decoded as [NodeId, ...Envelope[]];
      for (const envelope of envelopes) handle(envelope, from);
    };
    const tracing = this.observer?.tracing;
    for (const subject of [this.nodeSubject(this.nodeId), this.broadcastSubject()]) {
      this.subscriptions.push(
        this.nats.subscribe(subject, {
          callback: (error, message) => {
            if (error) this.log.warn({ err: error, subject }, "subscription error");
            else if (!tracing) onMessage(message.data, message.headers);
            else tracing.withIncoming((name) => message.headers?.get(name) || undefined, () => onMessage(message.data, message.headers));
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
    this.flush();
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.subscriptions = [];
    await this.nats.flush().catch(() => undefined);
  }

  private publish(subject: string, envelope: Envelope): void {
    let packed: Uint8Array;
    try {
      packed = packr.pack(envelope);
    } catch (error) {
      this.log.error({ err: error, subject, to: envelope.to }, "unencodable envelope dropped");
      return;
    }
    const traceHeaders = this.observer?.tracing?.outgoingHeaders();
    if (traceHeaders) {
      this.publishTraced(subject, packed, traceHeaders);
      return;
    }
    let batch = this.pending.get(subject);
    if (!batch) {
      batch = { parts: [], bytes: 0, queuedAt: this.observer ? wallNow() : 0 };
      this.pending.set(subject, batch);
    }
    batch.parts.push(packed);
    batch.bytes += packed.byteLength;
    if (batch.bytes >= BATCH_FLUSH_BYTES) {
      this.pending.delete(subject);
      this.publishBatch(subject, batch);
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends every pending batch, in the order their subjects first got an envelope. */
  private flush(): void {
    this.flushScheduled = false;
    const batches = [...this.pending];
    this.pending.clear();
    for (const [subject, batch] of batches) this.publishBatch(subject, batch);
  }

  private publishBatch(subject: string, batch: PendingBatch, traceHeaders?: Record<string, string>): void {
    try {
      this.nats.publish(subject, Buffer.concat([arrayHeader(batch.parts.length + 1), packr.pack(this.nodeId), ...batch.parts]), this.publishOptions(batch, traceHeaders));
    } catch (error) {
      // Closed or draining connection: the envelopes are lost in transit. Durable messages are
      // recovered by devices from their cursors; this is logged.
      this.log.warn({ err: error, subject, envelopes: batch.parts.length }, "publish to peer failed");
    }
  }

  /**
   * An envelope of a trace travels alone, its trace context in the NATS headers (a batch has
   * one set of headers, and its envelopes belong to many traces). What is pending for the
   * subject goes first, so the order of envelopes on the subject is kept.
   */
  private publishTraced(subject: string, packed: Uint8Array, traceHeaders: Record<string, string>): void {
    const pending = this.pending.get(subject);
    if (pending) {
      this.pending.delete(subject);
      this.publishBatch(subject, pending);
    }
    const batch: PendingBatch = { parts: [packed], bytes: packed.byteLength, queuedAt: wallNow() };
    this.publishBatch(subject, batch, traceHeaders);
  }

  private publishOptions(batch: PendingBatch, traceHeaders?: Record<string, string>): { headers: MsgHdrs } | undefined {
    if (batch.queuedAt === 0) return undefined;
    const stamped = headers();
    stamped.set(QUEUED_AT_HEADER, batch.queuedAt.toFixed(3));
    for (const [name, value] of Object.entries(traceHeaders ?? {})) stamped.set(name, value);
    return { headers: stamped };
  }

  private nodeSubject(node: NodeId): string {
    return `${this.subjectPrefix}.node.${subjectToken(node)}`;
  }

  private broadcastSubject(): string {
    return `${this.subjectPrefix}.all`;
  }
}
