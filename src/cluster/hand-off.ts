import type { UserMessage } from "../actors/messages.ts";
import type { CloseCode } from "../seams.ts";
import { CLOSE_CODES } from "../protocol/frames.ts";
import type { Logger } from "../util/logger.ts";
import type { NodeId, Ring } from "./ring.ts";
import { chatKey, userKey } from "./routing.ts";

/** What hand-off acts on: this node's sockets, its live actors and its presence. */
export interface HandOffTargets {
  connections: { all(): Iterable<{ user: string; close(code: CloseCode, reason: string): void }> };
  users: { keys(): string[]; evict(user: string): void; tellIfActive(user: string, message: UserMessage): boolean };
  conversations: { keys(): string[]; evict(chat: string): void };
  presence: { ownerGone(node: NodeId, at: number): void };
  /** Calls held here whose devices' nodes may be gone (src/calls/service.ts). */
  calls: { ringChanged(): void };
  /** True while the current ring places `key` on this node. */
  owns(key: string): boolean;
}

/**
 * Hand-off when the ring changes (a node joined, left or died). A device whose user's actor
 * moved reconnects, so its session attaches to the new owner and resumes from its cursors:
 * each node closes its own sockets of such users. Actors whose key moved stop here once idle
 * and start on their new owner from the store.
 */
export function handOff(targets: HandOffTargets): (before: Ring, after: Ring) => void {
  const { connections, users, conversations, presence, calls, owns } = targets;
  return (before, after) => {
    // First, before sockets of moved users close: devices in a call whose node is gone hear it ended.
    calls.ringChanged();
    for (const connection of [...connections.all()]) {
      const key = userKey(connection.user);
      if (connection.user && before.ownerOf(key) !== after.ownerOf(key)) {
        connection.close(CLOSE_CODES.going_away, "user moved to another node; reconnect");
      }
    }
    for (const user of users.keys()) if (!owns(userKey(user))) users.evict(user);
    const now = Date.now();
    const gone = before.members.filter((node) => !after.members.includes(node));
    for (const node of gone) presence.ownerGone(node, now);
    // Sockets on a node that left never send their detach: the users this node hosts drop
    // those sessions, or they would hold device slots and budget shares for good.
    if (gone.length > 0) for (const user of users.keys()) users.tellIfActive(user, { type: "gateways-gone", nodes: gone });
    for (const chat of conversations.keys()) if (!owns(chatKey(chat))) conversations.evict(chat);
  };
}

/**
 * NATS delivers at most once: frames and deliveries between nodes during an outage may be
 * gone. Devices reconnect and resume from their cursors, which never pass a gap.
 */
export function resyncAfterOutage(connections: HandOffTargets["connections"] & { size: number }, log: Logger): () => void {
  return () => {
    log.warn({ connections: connections.size }, "nats link restored; asking devices to resync");
    for (const connection of [...connections.all()]) connection.close(CLOSE_CODES.going_away, "cluster link interrupted; reconnect to resync");
  };
}
