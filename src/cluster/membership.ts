/**
 * Cluster membership over NATS: every node publishes a heartbeat on `<prefix>.heartbeat`
 * and keeps the list of nodes it has heard from recently; a node silent for `missedBeats`
 * beats is declared down, and a node that stops on purpose says so on `<prefix>.leave`.
 * The member list feeds the placement ring (ring.ts); this module knows nothing of actors.
 */
import { randomUUID } from "node:crypto";
import type { NatsConnection, Subscription } from "nats";
import type { Logger } from "pino";
import type { NodeId } from "./ring.ts";
import { watchConnectionStatus, type ConnectionStatus } from "./nats-connection.ts";

export interface NodeLoad {
  readonly connections: number;
  readonly actors: number;
}

export interface Member {
  readonly nodeId: NodeId;
  /** host:port where clients and peers reach this node. */
  readonly address: string;
  readonly version: string;
  /** Epoch ms when the node's process started; a new value means the node restarted. */
  readonly startedAt: number;
  readonly load: NodeLoad;
  /** Epoch ms, on this node's clock, of the last heartbeat heard from the node. */
  readonly lastHeartbeatAt: number;
}

export type LeaveReason = "left" | "timeout";

export type MembershipEvent =
  | { type: "join"; node: Member }
  | { type: "leave"; node: Member; reason: LeaveReason }
  | { type: "update"; node: Member }
  | { type: "connection"; status: ConnectionStatus };

export interface MembershipConfig {
  nodeId: NodeId;
  address: string;
  version: string;
  /** NATS subject prefix; one per cluster (and per test), e.g. "router.cluster". */
  subjectPrefix: string;
  heartbeatMs: number;
  /** Beats a node may miss before it is declared down. */
  missedBeats: number;
  /** Read at every beat, so the published figures are always current. */
  readLoad: () => NodeLoad;
}

export type MembershipOptions = Pick<MembershipConfig, "nodeId" | "address" | "version"> &
  Partial<MembershipConfig>;

export function membershipDefaults(): Omit<MembershipConfig, "nodeId" | "address" | "version"> {
  return {
    subjectPrefix: "router.cluster",
    heartbeatMs: 1_000,
    missedBeats: 3,
    readLoad: () => ({ connections: 0, actors: 0 }),
  };
}

export class MembershipConfigError extends Error {
  override readonly name = "MembershipConfigError";
}

type Listener = (event: MembershipEvent) => void;

interface KnownMember {
  member: Member;
  instance: string;
  /** performance.now() of the last beat: wall-clock jumps must not kill or revive members. */
  heardAt: number;
  /** How long this member may stay silent, from the interval it advertises. */
  silenceLimitMs: number;
}

const PROTOCOL_VERSION = 1;
const INVALID_LOG_INTERVAL_MS = 10_000;

export class Membership {
  private readonly config: MembershipConfig;
  private readonly log: Logger;
  private readonly instance = randomUUID();
  private readonly startedAt = Date.now();
  private readonly peers = new Map<NodeId, KnownMember>();
  private readonly listeners = new Set<Listener>();
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();
  private state: "new" | "running" | "stopped" = "new";
  private connected = true;
  private subscription: Subscription | undefined;
  private beatTimer: NodeJS.Timeout | undefined;
  private stopWatchingStatus: (() => void) | undefined;
  private lastTickAt = 0;
  private beatSoonPending = false;
  private lastInvalidLogAt = Number.NEGATIVE_INFINITY;
  private lastLoad: NodeLoad = { connections: 0, actors: 0 };

  constructor(
    private readonly connection: NatsConnection,
    options: MembershipOptions,
    logger: Logger,
  ) {
    this.config = { ...membershipDefaults(), ...options };
    validateConfig(this.config);
    this.log = logger.child({ component: "membership", nodeId: this.config.nodeId });
  }

  get nodeId(): NodeId {
    return this.config.nodeId;
  }

  private get heartbeatSubject(): string {
    return `${this.config.subjectPrefix}.heartbeat`;
  }

  private get leaveSubject(): string {
    return `${this.config.subjectPrefix}.leave`;
  }

  /** Subscribes, announces this node and starts beating. Rejects if the connection is closed. */
  async start(): Promise<void> {
    if (this.state !== "new") throw new Error(`membership cannot start: it is ${this.state}`);
    if (this.connection.isClosed()) throw new Error("membership cannot start: the nats connection is closed");
    this.state = "running";
    try {
      await this.subscribeAndAnnounce();
    } catch (error) {
      this.shutDown();
      throw error;
    }
    this.log.info(
      { address: this.config.address, heartbeatMs: this.config.heartbeatMs, missedBeats: this.config.missedBeats },
      "membership started",
    );
  }

  private async subscribeAndAnnounce(): Promise<void> {
    // One subscription for both subjects: NATS keeps one publisher's messages in order
    // within a subscription, so a node's leave can never overtake its last heartbeat.
    this.subscription = this.connection.subscribe(`${this.config.subjectPrefix}.*`, {
      callback: (error, message) => {
        if (error) this.log.warn({ err: error }, "membership subscription error");
        else this.onMessage(message.subject, message.data);
      },
    });
    this.stopWatchingStatus = watchConnectionStatus(this.connection, (status) => this.onConnectionStatus(status));
    // The subscription must be on the server before the first beat, or the immediate
    // answers from existing members would be missed and discovery would take a full interval.
    await this.connection.flush();
    this.beat();
    this.lastTickAt = performance.now();
    this.beatTimer = setInterval(() => this.onTick(), this.config.heartbeatMs);
    // Membership must never be the reason a process cannot exit.
    this.beatTimer.unref();
  }

  /** Tells the others this node is going away, then stops. The connection stays open. */
  async leave(): Promise<void> {
    if (this.state !== "running") return;
    this.shutDown();
    if (!this.connection.isClosed()) {
      this.publish(this.leaveSubject, this.wireMessage("leave"));
      await this.connection.flush().catch((error: unknown) => {
        this.log.warn({ err: error }, "leave may not have reached nats");
      });
    }
    this.log.info("membership left");
  }

  /** Every live node including this one, sorted by node id; empty once stopped. */
  members(): Member[] {
    if (this.state !== "running") return [];
    const all = [this.selfMember(), ...[...this.peers.values()].map((known) => known.member)];
    return all.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  memberIds(): NodeId[] {
    return this.members().map((member) => member.nodeId);
  }

  /** Returns a function that removes the listener. Join/leave/update concern other nodes only. */
  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private shutDown(): void {
    this.state = "stopped";
    clearInterval(this.beatTimer);
    this.beatTimer = undefined;
    this.stopWatchingStatus?.();
    this.subscription?.unsubscribe();
    this.peers.clear();
  }

  private onTick(): void {
    const now = performance.now();
    const sinceLastTick = now - this.lastTickAt;
    this.lastTickAt = now;
    // A tick this late means our own event loop stalled: the beats we missed are queued
    // in the socket, not lost, so nobody is declared down for our pause.
    if (sinceLastTick > this.config.heartbeatMs * 2) {
      this.log.warn({ stalledMs: Math.round(sinceLastTick) }, "event loop stalled; failure detection deferred");
      this.forgiveSilence(now);
    }
    this.beat();
    this.expireSilentPeers(now);
  }

  private expireSilentPeers(now: number): void {
    // Cut off from NATS we cannot tell a dead peer from our own isolation; declaring
    // everyone down would make this node claim every key.
    if (!this.connected) return;
    for (const [nodeId, known] of this.peers) {
      if (now - known.heardAt <= known.silenceLimitMs) continue;
      this.peers.delete(nodeId);
      this.log.warn({ peer: nodeId, silentMs: Math.round(now - known.heardAt) }, "member timed out");
      this.emit({ type: "leave", node: known.member, reason: "timeout" });
    }
  }

  private forgiveSilence(now: number): void {
    for (const known of this.peers.values()) known.heardAt = now;
  }

  private beat(): void {
    if (this.state !== "running" || !this.connected) return;
    this.publish(this.heartbeatSubject, this.wireMessage("beat"));
  }

  // A newcomer learns the existing members from their immediate answers instead of waiting
  // up to a whole interval; several newcomers at once cost one extra beat, not one each.
  private beatSoon(): void {
    if (this.beatSoonPending) return;
    this.beatSoonPending = true;
    setImmediate(() => {
      this.beatSoonPending = false;
      this.beat();
    });
  }

  private publish(subject: string, payload: WireMessage): void {
    try {
      this.connection.publish(subject, this.encoder.encode(JSON.stringify(payload)));
    } catch (error) {
      this.log.warn({ err: error, subject }, "membership publish failed");
    }
  }

  private onConnectionStatus(status: ConnectionStatus): void {
    this.emit({ type: "connection", status });
    switch (status.type) {
      case "disconnected":
        this.connected = false;
        this.log.warn({ server: status.server }, "nats disconnected; failure detection paused");
        return;
      case "reconnected":
        this.connected = true;
        // Everyone was as cut off as we were: restart their clocks instead of expiring them.
        this.forgiveSilence(performance.now());
        this.log.info({ server: status.server }, "nats reconnected");
        this.beat();
        return;
      case "closed":
        this.log.warn({ err: status.error }, "nats connection closed; membership stopped");
        this.shutDown();
        return;
      default:
        this.log.debug({ status }, "nats status");
    }
  }

  private onMessage(subject: string, data: Uint8Array): void {
    if (this.state !== "running") return;
    const message = parseWireMessage(this.decoder, data);
    if (!message) {
      this.reportInvalid(subject, data.length);
      return;
    }
    if (message.nodeId === this.config.nodeId) {
      if (message.instance !== this.instance) {
        this.log.error({ otherAddress: message.address }, "another process uses this node id");
      }
      return;
    }
    if (subject === this.heartbeatSubject && message.kind === "beat") this.onBeat(message);
    else if (subject === this.leaveSubject && message.kind === "leave") this.onLeave(message);
    else this.reportInvalid(subject, data.length);
  }

  private onBeat(message: WireMessage): void {
    const now = performance.now();
    const member = toMember(message);
    const silenceLimitMs = message.heartbeatMs * this.config.missedBeats;
    const known = this.peers.get(message.nodeId);
    this.peers.set(message.nodeId, { member, instance: message.instance, heardAt: now, silenceLimitMs });
    if (!known) {
      this.log.info({ peer: member.nodeId, address: member.address, version: member.version }, "member joined");
      this.emit({ type: "join", node: member });
      this.beatSoon();
      return;
    }
    if (known.instance !== message.instance) {
      this.log.info({ peer: member.nodeId }, "member restarted");
    }
    if (describesChange(known.member, member)) this.emit({ type: "update", node: member });
  }

  private onLeave(message: WireMessage): void {
    const known = this.peers.get(message.nodeId);
    // A leave from an earlier run of a node that has since restarted must not remove the new run.
    if (!known || known.instance !== message.instance) return;
    this.peers.delete(message.nodeId);
    this.log.info({ peer: message.nodeId }, "member left");
    this.emit({ type: "leave", node: known.member, reason: "left" });
  }

  private reportInvalid(subject: string, bytes: number): void {
    const now = performance.now();
    if (now - this.lastInvalidLogAt < INVALID_LOG_INTERVAL_MS) return;
    this.lastInvalidLogAt = now;
    this.log.warn({ subject, bytes }, "ignored invalid membership message");
  }

  private emit(event: MembershipEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log.error({ err: error, event: event.type }, "membership listener threw");
      }
    }
  }

  private selfMember(): Member {
    return {
      nodeId: this.config.nodeId,
      address: this.config.address,
      version: this.config.version,
      startedAt: this.startedAt,
      load: this.lastLoad,
      lastHeartbeatAt: Date.now(),
    };
  }

  private currentLoad(): NodeLoad {
    try {
      const { connections, actors } = this.config.readLoad();
      this.lastLoad = { connections, actors };
    } catch (error) {
      this.log.warn({ err: error }, "reading load failed; sending the last figures");
    }
    return this.lastLoad;
  }

  private wireMessage(kind: WireMessage["kind"]): WireMessage {
    return {
      v: PROTOCOL_VERSION,
      kind,
      nodeId: this.config.nodeId,
      instance: this.instance,
      address: this.config.address,
      version: this.config.version,
      startedAt: this.startedAt,
      heartbeatMs: this.config.heartbeatMs,
      load: kind === "beat" ? this.currentLoad() : this.lastLoad,
    };
  }
}

function describesChange(before: Member, after: Member): boolean {
  return (
    before.address !== after.address ||
    before.version !== after.version ||
    before.startedAt !== after.startedAt ||
    before.load.connections !== after.load.connections ||
    before.load.actors !== after.load.actors
  );
}

// NATS subject tokens: no empty token, no wildcard, no whitespace.
const SUBJECT_PREFIX = /^[^.*>\s]+(\.[^.*>\s]+)*$/;

function validateConfig(config: MembershipConfig): void {
  if (!config.nodeId) throw new MembershipConfigError("nodeId must not be empty");
  if (!SUBJECT_PREFIX.test(config.subjectPrefix)) {
    throw new MembershipConfigError(`subjectPrefix "${config.subjectPrefix}" is not a valid NATS subject prefix`);
  }
  if (!Number.isFinite(config.heartbeatMs) || config.heartbeatMs < 10) {
    throw new MembershipConfigError(`heartbeatMs must be at least 10, got ${config.heartbeatMs}`);
  }
  if (!Number.isInteger(config.missedBeats) || config.missedBeats < 1) {
    throw new MembershipConfigError(`missedBeats must be a positive integer, got ${config.missedBeats}`);
  }
}

/**
 * What nodes say to each other, as JSON so `nats sub '<prefix>.>'` is readable by an operator.
 * `v` lets a later version change the shape while old nodes ignore what they cannot read.
 */
interface WireMessage {
  v: number;
  kind: "beat" | "leave";
  nodeId: NodeId;
  /** Random per process: tells a restarted node, or a second process with the same id, apart. */
  instance: string;
  address: string;
  version: string;
  startedAt: number;
  heartbeatMs: number;
  load: NodeLoad;
}

function parseWireMessage(decoder: TextDecoder, data: Uint8Array): WireMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const m = value as Record<string, unknown>;
  const load = m["load"] as Record<string, unknown> | null | undefined;
  const valid =
    m["v"] === PROTOCOL_VERSION &&
    (m["kind"] === "beat" || m["kind"] === "leave") &&
    isNonEmptyString(m["nodeId"]) &&
    isNonEmptyString(m["instance"]) &&
    typeof m["address"] === "string" &&
    typeof m["version"] === "string" &&
    isNonNegativeNumber(m["startedAt"]) &&
    isNonNegativeNumber(m["heartbeatMs"]) &&
    (m["heartbeatMs"] as number) > 0 &&
    typeof load === "object" &&
    load !== null &&
    isNonNegativeNumber(load["connections"]) &&
    isNonNegativeNumber(load["actors"]);
  if (!valid) return undefined;
  return {
    v: PROTOCOL_VERSION,
    kind: m["kind"] as WireMessage["kind"],
    nodeId: m["nodeId"] as string,
    instance: m["instance"] as string,
    address: m["address"] as string,
    version: m["version"] as string,
    startedAt: m["startedAt"] as number,
    heartbeatMs: m["heartbeatMs"] as number,
    load: { connections: load["connections"] as number, actors: load["actors"] as number },
  };
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function isNonNegativeNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

function toMember(message: WireMessage): Member {
  return {
    nodeId: message.nodeId,
    address: message.address,
    version: message.version,
    startedAt: message.startedAt,
    load: message.load,
    lastHeartbeatAt: Date.now(),
  };
}
