import { clientFrameOf } from "./client-frames.ts";
import type { Deliver, DeviceAck } from "./messages.ts";
import { framesOf, groupFloor } from "./user-sync.ts";
import { handedIn, markHanded, sameConnection, type DeviceSession, type UserDeps, type UserState } from "./user-state.ts";

function persistCursor(deps: UserDeps, user: string, device: string, chat: string, seq: number): void {
  const cursors = deps.stores.cursors;
  if (cursors.setCursorSoon) {
    cursors.setCursorSoon(user, device, chat, seq);
    return;
  }
  // A lost cursor write only means the device is sent those messages again (at-least-once).
  cursors.setCursor(user, device, chat, seq).catch((error: unknown) => {
    deps.log.warn({ err: error, user, device, chat }, "cursor write failed");
  });
}

/**
 * A gap opens when this session missed a deliver, or when the first message of a group
 * reaches a new member: fill it from the store up to `seq`, never from before they joined.
 */
async function fillGap(deps: UserDeps, user: string, session: DeviceSession, chat: string, handed: number, seq: number): Promise<void> {
  const floors = await groupFloor(deps, user, chat);
  const from = Math.max(handed, (floors.get(chat) ?? 1) - 1);
  if (seq <= from + 1) return;
  const gap = await deps.stores.messages.readAfter(chat, from, seq - from - 1);
  for (const frame of await framesOf(deps, gap, floors)) deps.link.send(session.conn, frame);
}

/**
 * Hands durable messages to every live device of the user, each at most once per connection.
 * Synchronous unless a gap must first be filled from the store (then it returns the promise of
 * the rest), so the hot path costs the actor no promise.
 */
export function onDeliver(deps: UserDeps, state: UserState, user: string, deliver: Deliver): Promise<void> | undefined {
  for (const [device, session] of state.sessions) {
    const gapAt = handOut(deps, user, device, session, deliver, 0);
    if (gapAt >= 0) return deliverAcrossGaps(deps, state, user, deliver, device, gapAt);
  }
  return undefined;
}

/**
 * Where a message stands against the highest seq of its chat a device was handed: handed
 * already, the next one, or past a gap (filled from the store first). The one rule both
 * handOut and its dry run, deliversAtOnce, follow.
 */
function standing(seq: number, handed: number): "handed" | "next" | "gap" {
  return seq <= handed ? "handed" : seq === handed + 1 ? "next" : "gap";
}

/** Whether onDeliver hands `deliver` out synchronously: no live device would be left a gap to fill first. */
export function deliversAtOnce(state: UserState, deliver: Deliver): boolean {
  for (const session of state.sessions.values()) {
    let chat = "";
    let handed = 0;
    for (const message of deliver.messages) {
      if (message.chat !== chat) {
        chat = message.chat;
        handed = handedIn(session, chat);
      }
      const place = standing(message.seq, handed);
      if (place === "gap") return false;
      if (place === "next") handed = message.seq;
    }
  }
  return true;
}

/**
 * Hands `deliver.messages` from index `start` on to one device, up to the first message that
 * would leave a gap: its index is returned (nothing of it handed yet), or -1 once all are.
 */
function handOut(deps: UserDeps, user: string, device: string, session: DeviceSession, deliver: Deliver, start: number): number {
  const fromThisDevice = deliver.origin.user === user && deliver.origin.device === device;
  const messages = deliver.messages;
  for (let i = start; i < messages.length; i += 1) {
    const message = messages[i]!;
    const chat = message.chat;
    const place = standing(message.seq, handedIn(session, chat));
    if (place === "handed") continue;
    if (place === "gap") return i;
    markHanded(session, chat, message.seq);
    if (!fromThisDevice) {
      deps.link.send(session.conn, clientFrameOf(message));
    } else if ((session.cursors.get(chat) ?? 0) === message.seq - 1) {
      // The sender has its own message already (it got `sent`): count it as acked.
      session.cursors.set(chat, message.seq);
      persistCursor(deps, user, device, chat, message.seq);
    }
  }
  return -1;
}

/** The rest of a delivery once device `device` met a gap at message `gapAt`: filled from the store first. */
async function deliverAcrossGaps(deps: UserDeps, state: UserState, user: string, deliver: Deliver, device: string, gapAt: number): Promise<void> {
  let reached = false;
  for (const [current, session] of state.sessions) {
    reached ||= current === device;
    if (!reached) continue;
    let next = current === device ? gapAt : handOut(deps, user, current, session, deliver, 0);
    while (next >= 0) {
      const message = deliver.messages[next]!;
      await fillGap(deps, user, session, message.chat, handedIn(session, message.chat), message.seq);
      // Filled up to just below `message`: it hands on like any other from here.
      markHanded(session, message.chat, Math.max(handedIn(session, message.chat), message.seq - 1));
      next = handOut(deps, user, current, session, deliver, next);
    }
  }
}

/**
 * A device's ack moves its cursor and the user's delivered mark in the chat. The actor adds
 * what the chat cannot know: a device can only ack what this connection was handed.
 */
export function onAck(deps: UserDeps, state: UserState, user: string, ack: DeviceAck): void {
  const session = state.sessions.get(ack.device);
  if (!session || !sameConnection(session.conn, ack.conn)) return;
  const seq = Math.min(ack.seq, handedIn(session, ack.chat));
  if (seq <= (session.cursors.get(ack.chat) ?? 0)) return;
  session.cursors.set(ack.chat, seq);
  persistCursor(deps, user, ack.device, ack.chat, seq);
  deps.conversations.tell(ack.chat, { type: "mark", user, delivered: seq });
}
