import { CLOSE_CODES, directChatMembers } from "../protocol/frames.ts";
import { answer } from "./command-result.ts";
import type { ActorBehaviour } from "./directory.ts";
import { presenceShown } from "./presence-hub.ts";
import { blocksOf, handleContactsRequest, type ContactListDeps } from "./contact-lists.ts";
import { onCallDeviceAttached, onUserCallMessage } from "../calls/user-calls.ts";
import type { Attach, Detach, GatewaysGone, GroupInviteNotice, ReceiptNotice, TypingNotice, UserMessage } from "./messages.ts";
import { shareOf } from "../seams.ts";
import { deliversAtOnce, onAck, onDeliver } from "./user-delivery.ts";
import { listDeps, onPrivacy, relationsChanged, shownBy, withBlocks } from "./user-settings.ts";
import { sameConnection, UserState, type DeviceSession, type UserDeps } from "./user-state.ts";
import { syncDevice } from "./user-sync.ts";

export { UserState, type UserDeps } from "./user-state.ts";

/**
 * Tells every live connection its share of the user's frame budget. The connections check
 * it themselves, frame by frame, wherever they are: this actor hears of each attach and
 * detach anyway, so the budget holds cluster-wide at one message per connection per change
 * instead of a hop per frame.
 */
function shareBudget(deps: UserDeps, state: UserState): void {
  const share = shareOf(deps.frameBudget, state.sessions.size);
  for (const session of state.sessions.values()) deps.link.limit(session.conn, share);
}

function wentOffline(deps: UserDeps, state: UserState, user: string): void {
  deps.presence.userOffline(user, deps.clock.now(), state.privacy && presenceShown(state.privacy, state.relations));
}

async function onAttach(deps: UserDeps, state: UserState, user: string, attach: Attach): Promise<void> {
  const previous = state.sessions.get(attach.device);
  if (!previous && state.sessions.size >= deps.maxDevices) {
    // Refuse the newcomer rather than drop a device the user still has: an idle device
    // is not a gone one, and the user decides which to sign out.
    deps.link.send(attach.conn, { t: "err", r: attach.r, code: "too_many_devices", msg: `at most ${deps.maxDevices} devices may be connected at once` });
    deps.link.close(attach.conn, CLOSE_CODES.too_many_devices, "too many devices");
    return;
  }
  const wasOffline = state.sessions.size === 0;
  if (previous && !sameConnection(previous.conn, attach.conn)) {
    deps.link.close(previous.conn, CLOSE_CODES.replaced, "replaced by a newer connection of this device");
  }
  const cursors = await deps.stores.cursors.cursors(user, attach.device);
  // Cursor writes are not awaited, so the replaced session may know of newer acks than the store.
  for (const [chat, seq] of previous?.cursors ?? []) if (seq > (cursors.get(chat) ?? 0)) cursors.set(chat, seq);
  const session: DeviceSession = { conn: attach.conn, cursors };
  state.sessions.set(attach.device, session);
  // Before `welcome`, so the client's next frames already count against the real share.
  shareBudget(deps, state);
  if (wasOffline) deps.presence.userOnline(user, await shownBy(deps, state, user));
  deps.link.send(attach.conn, { t: "welcome", r: attach.r, user, device: attach.device, node: deps.nodeId, ts: deps.clock.now() });
  await syncDevice(deps, user, session);
  // Only a user some call rang has offers to hand on: the others' call state is never made.
  const calls = state.existingCalls;
  if (deps.calls && calls) onCallDeviceAttached(deps.calls, calls, user, attach.device, attach.conn, deps.clock.now());
}

function onDetach(deps: UserDeps, state: UserState, user: string, detach: Detach): void {
  const session = state.sessions.get(detach.device);
  if (!session || !sameConnection(session.conn, detach.conn)) return;
  state.sessions.delete(detach.device);
  if (state.sessions.size === 0) wentOffline(deps, state, user);
  shareBudget(deps, state);
}

function onGatewaysGone(deps: UserDeps, state: UserState, user: string, gone: GatewaysGone): void {
  const before = state.sessions.size;
  for (const [device, session] of state.sessions) {
    if (!gone.nodes.includes(session.conn.node)) continue;
    state.sessions.delete(device);
    // A node only cut off for a while still holds the socket, which would hear nothing
    // more from here: have it reconnect and attach again.
    deps.link.close(session.conn, CLOSE_CODES.going_away, "your node left the cluster; reconnect");
  }
  if (state.sessions.size === before) return;
  if (state.sessions.size === 0) wentOffline(deps, state, user);
  shareBudget(deps, state);
}

async function onTyping(deps: UserDeps, lists: ContactListDeps, state: UserState, user: string, notice: TypingNotice): Promise<void> {
  // A blocked user's typing in a direct chat with the blocker shows nothing (their messages
  // there are withheld too); in a group, where their messages are seen, so is their typing.
  if (directChatMembers(notice.chat)) {
    try {
      if ((await blocksOf(lists, state, user)).has(notice.user)) return;
    } catch (error) {
      deps.log.warn({ err: error, user }, "block list read failed; typing dropped");
      return;
    }
  }
  for (const session of state.sessions.values()) {
    deps.link.send(session.conn, { t: "typing", chat: notice.chat, user: notice.user, on: notice.on }, true);
  }
}

function onReceipt(deps: UserDeps, state: UserState, notice: ReceiptNotice): void {
  for (const session of state.sessions.values()) {
    deps.link.send(session.conn, { t: "receipt", chat: notice.chat, user: notice.user, delivered: notice.delivered, read: notice.read });
  }
}

function onInvite(deps: UserDeps, state: UserState, notice: GroupInviteNotice): void {
  const { chat, by, name, invite, expires } = notice;
  for (const session of state.sessions.values()) deps.link.send(session.conn, { t: "group.invite", chat, by, name, invite, expires });
}

async function handleUserMessage(
  deps: UserDeps,
  lists: ContactListDeps,
  state: UserState,
  message: Exclude<UserMessage, { type: "deliver" | "ack" | "receipt" }>,
  user: string,
): Promise<UserState> {
  switch (message.type) {
    case "attach":
      await onAttach(deps, state, user, message);
      break;
    case "detach":
      onDetach(deps, state, user, message);
      break;
    case "gateways-gone":
      onGatewaysGone(deps, state, user, message);
      break;
    case "typing":
      await onTyping(deps, lists, state, user, message);
      break;
    case "contacts":
      if (await handleContactsRequest(lists, state, user, message)) await relationsChanged(deps, state, user);
      break;
    case "privacy": {
      const { result, shown } = await onPrivacy(deps, state, user, message);
      answer(deps.link, message.replyTo, result);
      // The user hears their settings are saved before their watchers see the change.
      if (shown) deps.presence.privacyChanged(user, shown);
      break;
    }
    case "group.invite":
      onInvite(deps, state, message);
      break;
    case "call.ring":
    case "call.joined":
    case "call.over":
    case "call.event":
      if (deps.calls) await onUserCallMessage(withBlocks(deps, deps.calls, state, user), state.calls, state.sessions, user, message);
      break;
    case "status.notice":
      // Pull-based status: a hint to list, for the devices live now; nothing is kept.
      for (const session of state.sessions.values()) deps.link.send(session.conn, message.frame);
      break;
    case "keys.low":
      // Every device hears it: any of them may be the one that refills, or tell the user.
      for (const session of state.sessions.values()) deps.link.send(session.conn, { t: "keys.low", device: message.device, count: message.count });
      break;
  }
  return state;
}

/**
 * One user: their live devices, each device's cursors, and what was handed to each
 * connection. Delivery is at-least-once per device and deduplicated by (chat, seq): a
 * connecting device gets everything after its cursors, then live messages, without gaps.
 * Attaching and syncing live in user-sync.ts, delivery and acks in user-delivery.ts, settings
 * in user-settings.ts; this file routes each message to its handler.
 */
export function userBehaviour(deps: UserDeps): ActorBehaviour<UserMessage, UserState> {
  const lists = listDeps(deps);
  return {
    initialState: () => new UserState(),
    handle: (state, message, user) => {
      // The hot path is synchronous: no promise per message handed on, ack or receipt.
      switch (message.type) {
        case "deliver":
          return onDeliver(deps, state, user, message)?.then(() => state) ?? state;
        case "ack":
          onAck(deps, state, user, message);
          return state;
        case "receipt":
          onReceipt(deps, state, message);
          return state;
        default:
          return handleUserMessage(deps, lists, state, message, user);
      }
    },
    // What `handle` finishes synchronously above: an idle user's actor takes it at once.
    handlesAtOnce: (state, message) =>
      message.type === "ack" || message.type === "receipt" || (message.type === "deliver" && deliversAtOnce(state, message)),
    keepAlive: (state) => state.sessions.size > 0 || state.ringingNow(deps.clock.now()),
    answerCrash(message, _error, user) {
      if (message.type === "attach") {
        deps.link.send(message.conn, { t: "err", r: message.r, code: "internal", msg: "sync failed; reconnect" });
      }
      // The restarted actor starts without its device sessions: have every device reconnect
      // and resume from its cursors rather than wait for messages that would not come.
      deps.link.closeUser(user, CLOSE_CODES.going_away, "user actor restarted; reconnect");
      deps.presence.userOffline(user, deps.clock.now());
    },
  };
}
