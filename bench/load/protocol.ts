/** The load processes' IPC: the parent sends commands, each answered once by `id`. */

export type TargetKind = "router" | "relay" | "nats" | "xmpp";

export interface Target {
  kind: TargetKind;
  /** ws:// for the router and the relay, nats:// for NATS, xmpp://host:port/ for the XMPP baseline (domain `localhost`). */
  url: string;
  /** HS256 secret of the router, so load processes sign their own tokens. */
  secret?: string;
  /** Router clients ack what they receive (default); off isolates delivery from ack handling. */
  acks?: boolean;
  /**
   * Router and relay clients are the lean ones (clients/lean-router-client.ts,
   * lean-relay-client.ts): bare sockets, the router's frames pre-encoded. The router's can
   * send direct, receive, ack and reconnect in a storm, but not create groups or send to one.
   */
  lean?: boolean;
}

export interface ClientSpec {
  user: string;
  /** A globally unique number, carried in every probe it sends. */
  index: number;
  /** For direct traffic: the user this client sends to (in the same load process). */
  peer?: string;
  /** The node this client connects to, when the target is a cluster (default: the target's url). */
  url?: string;
}

export type Command =
  | { type: "open"; target: Target; clients: ClientSpec[]; concurrency: number }
  | { type: "direct"; rate: number; durationMs: number; drainMs: number; bodyBytes: number }
  | { type: "hot"; window: number; durationMs: number; bodyBytes: number }
  | { type: "drop" }
  | { type: "send-to"; recipients: string[]; perRecipient: number; bodyBytes: number }
  | { type: "reconnect"; expectPerClient: number; timeoutMs: number; spreadMs: number }
  | { type: "group-create"; groups: Array<{ creator: string; name: string; members: string[] }> }
  | { type: "group-step"; senders: Array<{ user: string; chat: string }>; rate: number; durationMs: number; drainMs: number; bodyBytes: number }
  | { type: "counters" }
  | { type: "close" };

export type Request = Command & { id: number };

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export interface OpenResult {
  opened: number;
  failed: number;
  firstError?: string;
}

export interface DirectResult {
  sent: number;
  /** Probes received (first copies only) since the step began. */
  delivered: number;
  /** Of those, received before the step's sending window closed: the throughput figure. */
  deliveredInWindow: number;
  /** `sent` answers from the router (durable acknowledgements). */
  acked: number;
  duplicates: number;
  /** A probe arrived with a number other than the next one expected from its sender. */
  outOfOrder: number;
  errors: Record<string, number>;
  closes: number;
  e2e: string;
  ack: string;
  /** How late the load process actually sent relative to its schedule. */
  lag: string;
  windowMs: number;
}

export interface HotResult {
  acked: number;
  delivered: number;
  durationMs: number;
  ack: string;
  e2e: string;
  errors: Record<string, number>;
  outOfOrder: number;
  duplicates: number;
}

export interface ReconnectResult {
  startedAtNs: number;
  /** Per client, monotonic ns when it had `synced`. */
  syncedAtNs: number[];
  /** Time from the storm's start until each client had `synced`. */
  synced: string;
  clients: number;
  failed: number;
  retries: number;
  /** Clients that had fewer pending messages than expected when `synced` arrived. */
  incomplete: number;
  pendingReceived: number;
  firstError?: string;
  /** Failed connection attempts by error message. */
  errors: Record<string, number>;
}

export interface GroupCreateResult {
  chats: string[];
  unsupported?: string;
}

export interface GroupStepResult {
  sent: number;
  acked: number;
  /** Per message `${sender}:${n}`: members in this process that got it, and the latest arrival's latency. */
  arrivals: Array<[string, number, number]>;
  errors: Record<string, number>;
  windowMs: number;
}

export interface Counters {
  pings: number;
  closes: number;
  open: number;
}
