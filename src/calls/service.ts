import type { ClientLink, CloseCode, ConnectionRef, FrameShare, Tell } from "../seams.ts";
import type { CallRequestFrame, ServerFrame } from "../protocol/frames.ts";
import type { Logger } from "../util/logger.ts";
import { callKey, callOwner, randomCallPart } from "./call-id.ts";
import type { CallMessage } from "./messages.ts";
import { turnCredentials, type TurnSettings } from "./turn.ts";

/** Where calls live: this node, the live members, and the ring's choice for a new call. */
export interface CallPlacement {
  self: string;
  members(): readonly string[];
  ownerOf(key: string): string;
}

export interface CallServiceDeps {
  link: ClientLink;
  calls: Tell<CallMessage>;
  placement: CallPlacement;
  /** Absent when no TURN secret is configured. */
  turn?: TurnSettings;
  log: Logger;
}

const connKey = (conn: ConnectionRef) => `${conn.node}/${conn.id}`;

/**
 * Calls one connection may be in at once (placed, ringing or joined): a few for a call
 * waiting while another rings; far more only means someone is spraying calls.
 */
export const MAX_CALLS_PER_CONNECTION = 8;

/**
 * Which of this node's connections are in which calls, learnt from the call frames this node
 * hands to its sockets (`tap`). It is what lets a gateway end its devices' calls when the
 * node holding a call dies, and tell a call that one of its devices went away.
 */
export class CallTracker {
  private readonly byConn = new Map<string, { conn: ConnectionRef; calls: Set<string> }>();

  /** Wraps this node's socket link: every call frame passing to a local socket is noted. */
  tap(local: ClientLink): ClientLink {
    return {
      send: (conn: ConnectionRef, frame: ServerFrame, ephemeral?: boolean) => {
        this.observe(conn, frame);
        local.send(conn, frame, ephemeral);
      },
      close: (conn: ConnectionRef, code: CloseCode, reason: string) => local.close(conn, code, reason),
      closeUser: (user: string, code: CloseCode, reason: string) => local.closeUser(user, code, reason),
      limit: (conn: ConnectionRef, share: FrameShare) => local.limit(conn, share),
    };
  }

  private observe(conn: ConnectionRef, frame: ServerFrame): void {
    if (!frame.t.startsWith("call.") || !("call" in frame) || frame.t === "call.join" || frame.t === "call.leave") return;
    const key = connKey(conn);
    if (frame.t === "call.end" || frame.t === "call.answered_elsewhere") {
      const entry = this.byConn.get(key);
      entry?.calls.delete(frame.call);
      if (entry?.calls.size === 0) this.byConn.delete(key);
      return;
    }
    let entry = this.byConn.get(key);
    if (!entry) this.byConn.set(key, (entry = { conn, calls: new Set() }));
    entry.calls.add(frame.call);
  }

  /** How many calls a connection is in (placed, ringing or joined). */
  count(conn: ConnectionRef): number {
    return this.byConn.get(connKey(conn))?.calls.size ?? 0;
  }

  /** The calls a closed connection was in; it is forgotten. */
  closed(conn: ConnectionRef): string[] {
    const entry = this.byConn.get(connKey(conn));
    this.byConn.delete(connKey(conn));
    return entry ? [...entry.calls] : [];
  }

  /** Every (connection, call) whose call lives on a node `alive` says is gone; they are forgotten. */
  orphans(alive: (node: string) => boolean): Array<{ conn: ConnectionRef; call: string }> {
    const found: Array<{ conn: ConnectionRef; call: string }> = [];
    for (const [key, entry] of this.byConn) {
      for (const call of entry.calls) {
        if (alive(callOwner(call))) continue;
        found.push({ conn: entry.conn, call });
        entry.calls.delete(call);
      }
      if (entry.calls.size === 0) this.byConn.delete(key);
    }
    return found;
  }
}

/**
 * The gateway side of calls, one per node: takes each validated `call.*` frame of a local
 * connection and answers it (TURN) or hands it to the call's actor, wherever that lives.
 */
export class CallService {
  constructor(
    private readonly deps: CallServiceDeps,
    private readonly tracker: CallTracker,
  ) {}

  handle(conn: ConnectionRef, user: string, device: string, frame: CallRequestFrame): void {
    const from = { user, device, conn };
    switch (frame.t) {
      case "call.turn":
        if (!this.deps.turn) {
          this.deps.link.send(conn, { t: "err", r: frame.r, code: "unavailable", msg: "this router has no TURN server configured" });
          return;
        }
        this.deps.link.send(conn, turnCredentials(this.deps.turn, user, frame.r));
        return;
      case "call.offer":
        if (frame.call === undefined) {
          if (this.tracker.count(conn) >= MAX_CALLS_PER_CONNECTION) {
            this.deps.link.send(conn, { t: "err", r: frame.r, code: "limit_exceeded", msg: `at most ${MAX_CALLS_PER_CONNECTION} calls at once per connection` });
            return;
          }
          // The ring places the new call; its id names that node for the call's whole life.
          const random = randomCallPart();
          const call = `${random}@${this.deps.placement.ownerOf(callKey(random))}`;
          this.deps.calls.tell(call, { type: "start", caller: from, r: frame.r, to: frame.to, group: frame.group, video: frame.video, sdp: frame.sdp });
          return;
        }
        break;
    }
    // Every frame left names its call (validate.ts requires it of all but a new call's offer).
    const call = frame.call!;
    if (!this.alive(callOwner(call))) {
      // Its node is gone, and the call with it.
      if ("r" in frame && frame.r !== undefined) this.deps.link.send(conn, { t: "err", r: frame.r, code: "not_found", msg: "no such call, or it is over" });
      this.deps.link.send(conn, { t: "call.end", call, reason: "failed" });
      return;
    }
    this.deps.calls.tell(call, { type: "signal", from, frame });
  }

  /** A local connection closed: its calls hear that the device is gone. */
  connectionClosed(conn: ConnectionRef): void {
    for (const call of this.tracker.closed(conn)) {
      if (this.alive(callOwner(call))) this.deps.calls.tell(call, { type: "disconnected", conn });
    }
  }

  /**
   * The ring changed. Calls held by a node that left or died are over: each local device in
   * one is told so (reason `failed`), whichever node its user's actor is on.
   */
  ringChanged(): void {
    const orphans = this.tracker.orphans((node) => this.alive(node));
    for (const { conn, call } of orphans) this.deps.link.send(conn, { t: "call.end", call, reason: "failed" });
    if (orphans.length > 0) this.deps.log.warn({ devices: orphans.length }, "calls ended: their node left the cluster");
  }

  private alive(node: string): boolean {
    return node === this.deps.placement.self || this.deps.placement.members().includes(node);
  }
}
