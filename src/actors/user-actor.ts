import { CLOSE_CODES, directChatMembers, isGroupChat, type ChatEventFrame, type MessageFrame, type SkipFrame } from "../protocol/frames.ts";
import { StorageUnavailableError } from "../storage/errors.ts";
import type { StoredMessage } from "../storage/messages.ts";
import type { Stores } from "../storage/stores.ts";
import type { PrivacySettings } from "../storage/privacy.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import { answer, refuse, replied, type CommandResult } from "./command-result.ts";
import type { ActorBehaviour } from "./directory.ts";
import { presenceShown, type PresenceShown } from "./presence-hub.ts";
import { hiddenEntry, toClientFrame, visibleFrom } from "./client-frames.ts";
import { blocksOf, handleContactsRequest, type ContactListLimits } from "./contact-lists.ts";
import { onCallDeviceAttached, onUserCallMessage, UserCalls, type UserCallDeps } from "../calls/user-calls.ts";
import type {
  Attach,
  ConversationMessage,
  Deliver,
  DeviceAck,
  GroupInviteNotice,
  PrivacyRequest,
  ReceiptNotice,
  TypingNotice,
  UserMessage,
} from "./messages.ts";
import { shareOf, type ClientLink, type ConnectionRef, type FrameShare, type Tell, type TellIfActive } from "../seams.ts";

/** One live device of the user. */
interface DeviceSession {
  conn: ConnectionRef;
  /** Highest seq the device acked, per chat (mirrors the CursorStore). */
  cursors: Map<string, number>;
  /** Highest seq handed to this connection, per chat: nothing at or below it is sent again. */
  sent: Map<string, number>;
}

export class UserState {
  readonly sessions = new Map<string, DeviceSession>();
  /** The user's privacy settings once read (the actor is their only writer). */
  privacy: PrivacySettings | undefined;
  /** Whom the user blocked, once read (the actor is the only writer; src/actors/contact-lists.ts). */
  blocks: Set<string> | undefined;
  /**
   * Set (to a time, so it never repeats across the actor's lives) on every change of the
   * user's contacts or blocks: presence hubs that see a new value read their watchers'
   * relations to the user again. Undefined until the first change of this life.
   */
  relations: number | undefined;
  /** Calls ringing this user or joined by them (src/calls/user-calls.ts). */
  readonly calls = new UserCalls();
}

export interface UserDeps {
  nodeId: string;
  stores: Stores;
  link: ClientLink;
  conversations: Tell<ConversationMessage> & TellIfActive<ConversationMessage>;
  log: Logger;
  syncLimitPerChat: number;
  presence: {
    userOnline(user: string, shown?: PresenceShown): void;
    userOffline(user: string, at: number, shown?: PresenceShown): void;
    privacyChanged(user: string, shown: PresenceShown): void;
  };
  /** Inbound frames the user may send across all their connections, divided among them. */
  frameBudget: FrameShare;
  /** Live devices per user; a further one is refused, not an older one dropped. */
  maxDevices: number;
  /** Contact and block list sizes. */
  contactLimits: ContactListLimits;
  /** Invitation expiry, the welcome's time and last seen read it. */
  clock: Clock;
  /** Call signalling; without it calls never ring this user. */
  calls?: UserCallDeps;
}

function sameConnection(a: ConnectionRef, b: ConnectionRef): boolean {
  return a.id === b.id && a.node === b.node;
}

/** Oldest first across chats; within a chat ts never decreases, so seq breaks ties. */
function byTimeThenSeq(a: StoredMessage, b: StoredMessage): number {
  return a.ts - b.ts || (a.chat < b.chat ? -1 : a.chat > b.chat ? 1 : a.seq - b.seq);
}

/**
 * One user: their live devices, each device's cursors, and what was handed to each
 * connection. Delivery is at-least-once per device and deduplicated by (chat, seq): a
 * connecting device gets everything after its cursors, then live messages, without gaps.
 */
export function userBehaviour(deps: UserDeps): ActorBehaviour<UserMessage, UserState> {
  function send(session: DeviceSession, frame: MessageFrame | ChatEventFrame | SkipFrame): void {
    deps.link.send(session.conn, frame);
  }

  /**
   * Log entries as frames; stored edit entries get the edited message's current body. An
   * event about a message from before the user joined the group (`floors`: chat → join seq)
   * becomes a `skip` of its position.
   */
  async function framesOf(entries: StoredMessage[], floors: ReadonlyMap<string, number>): Promise<Array<MessageFrame | ChatEventFrame | SkipFrame>> {
    const frames: Array<MessageFrame | ChatEventFrame | SkipFrame> = [];
    for (const entry of entries) {
      if (!visibleFrom(entry, floors.get(entry.chat) ?? 1)) {
        frames.push(toClientFrame(hiddenEntry(entry)));
      } else if (entry.kind === "edit" && entry.target !== undefined) {
        const [target] = await deps.stores.messages.readAfter(entry.chat, entry.target - 1, 1);
        frames.push(toClientFrame(entry, target?.seq === entry.target ? target.body : ""));
      } else {
        frames.push(toClientFrame(entry));
      }
    }
    return frames;
  }

  /**
   * Every chat the user may have missed something in, with its latest seq and the lowest seq
   * the user may see. Direct chats and small groups come from the inbox written on send;
   * groups come from the user's group list (large groups write no inbox entries).
   */
  async function chatsToSync(user: string): Promise<Array<{ chat: string; latest: number; floor: number }>> {
    const inbox = await deps.stores.messages.inbox(user);
    const groups = await deps.stores.groups.groupsOf(user);
    const memberOf = new Set(groups);
    const chats: Array<{ chat: string; latest: number; floor: number }> = [];
    for (const { chat, seq } of inbox) {
      if (memberOf.has(chat)) continue;
      // A group left or removed from: the inbox holds up to the notice of leaving; only that
      // is owed to a device that never synced the group.
      chats.push({ chat, latest: seq, floor: isGroupChat(chat) ? seq : 1 });
    }
    for (const chat of groups) {
      const info = await deps.stores.groups.get(chat);
      chats.push({ chat, latest: await deps.stores.messages.lastSeq(chat), floor: info?.joined[user] ?? 1 });
    }
    return chats;
  }

  /**
   * The user's join seq of `chat` if it is a group, for filling a gap. One who is no longer
   * a member sees no event of the gap (the rare case of a gap just before their removal).
   */
  async function groupFloor(user: string, chat: string): Promise<Map<string, number>> {
    if (!isGroupChat(chat)) return new Map();
    const info = await deps.stores.groups.get(chat);
    return new Map([[chat, info?.joined[user] ?? Number.MAX_SAFE_INTEGER]]);
  }

  function persistCursor(user: string, device: string, chat: string, seq: number): void {
    // A lost cursor write only means the device is sent those messages again (at-least-once).
    deps.stores.cursors.setCursor(user, device, chat, seq).catch((error: unknown) => {
      deps.log.warn({ err: error, user, device, chat }, "cursor write failed");
    });
  }

  /**
   * Tells every live connection its share of the user's frame budget. The connections check
   * it themselves, frame by frame, wherever they are: this actor hears of each attach and
   * detach anyway, so the budget holds cluster-wide at one message per connection per change
   * instead of a hop per frame.
   */
  function shareBudget(state: UserState): void {
    const share = shareOf(deps.frameBudget, state.sessions.size);
    for (const session of state.sessions.values()) deps.link.limit(session.conn, share);
  }

  async function onAttach(state: UserState, user: string, attach: Attach): Promise<void> {
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
    const session: DeviceSession = { conn: attach.conn, cursors, sent: new Map(cursors) };
    state.sessions.set(attach.device, session);
    // Before `welcome`, so the client's next frames already count against the real share.
    shareBudget(state);
    if (wasOffline) deps.presence.userOnline(user, await shownBy(state, user));
    deps.link.send(attach.conn, { t: "welcome", r: attach.r, user, device: attach.device, node: deps.nodeId, ts: deps.clock.now() });

    const chats = await chatsToSync(user);
    let recovered = true;
    const missed: StoredMessage[] = [];
    for (const { chat, latest, floor } of chats) {
      const cursor = Math.max(cursors.get(chat) ?? 0, floor - 1);
      if (latest <= cursor) continue;
      if (latest - cursor > deps.syncLimitPerChat) {
        // Too far behind to replay: hand over the newest part; the client pages history for the rest.
        recovered = false;
        missed.push(...(await deps.stores.messages.readBefore(chat, latest + 1, deps.syncLimitPerChat)));
      } else {
        missed.push(...(await deps.stores.messages.readAfter(chat, cursor, latest - cursor)));
      }
      session.sent.set(chat, latest);
    }
    missed.sort(byTimeThenSeq);
    const floors = new Map(chats.filter(({ chat }) => isGroupChat(chat)).map(({ chat, floor }) => [chat, floor]));
    for (const frame of await framesOf(missed, floors)) send(session, frame);

    // Group receipts are counted on request; direct chats get the other side's marks now.
    for (const { chat } of chats) {
      if (isGroupChat(chat)) continue;
      for (const [member, marks] of await deps.stores.receipts.marks(chat)) {
        if (member === user) continue;
        deps.link.send(attach.conn, { t: "receipt", chat, user: member, delivered: marks.delivered, read: marks.read });
      }
    }
    // Invitations wait in the store until accepted or expired: each hello lists them again.
    for (const invite of await deps.stores.invites.invites(user, deps.clock.now())) {
      deps.link.send(attach.conn, { t: "group.invite", chat: invite.chat, by: invite.by, name: invite.name, invite: invite.invite, expires: invite.expiresAt });
    }
    deps.link.send(attach.conn, { t: "synced", recovered });
    if (deps.calls) onCallDeviceAttached(deps.calls, state.calls, user, attach.device, attach.conn, deps.clock.now());
  }

  /** What the user's settings show watchers; undefined when they cannot be read now (the hub keeps what it knew). */
  async function shownBy(state: UserState, user: string): Promise<PresenceShown | undefined> {
    try {
      state.privacy ??= await deps.stores.privacy.settings(user);
    } catch (error) {
      deps.log.warn({ err: error, user }, "privacy settings read failed");
      return undefined;
    }
    return presenceShown(state.privacy, state.relations);
  }

  const lists = { stores: deps.stores, link: deps.link, conversations: deps.conversations, limits: deps.contactLimits, log: deps.log };

  /**
   * The calls hook answered from the user's own block list (this actor keeps it): a blocked
   * caller hears `busy`, as when the user is in another call. Any hook the node was given
   * (tests) is asked too. A list that cannot be read lets the call ring: a missed call is
   * worse than a ring from someone blocked, and the next ring asks again.
   */
  function withBlocks(calls: UserCallDeps, state: UserState, user: string): UserCallDeps {
    return {
      ...calls,
      hooks: {
        callerBlocked: async (callee, caller) => {
          try {
            if ((await blocksOf(lists, state, user)).has(caller)) return true;
          } catch (error) {
            deps.log.warn({ err: error, user }, "block list read failed; the call rings");
          }
          return calls.hooks.callerBlocked(callee, caller);
        },
      },
    };
  }

  /** After a contacts or blocks change: watchers everywhere read their relation to the user again. */
  async function relationsChanged(state: UserState, user: string): Promise<void> {
    state.relations = Math.max(Date.now(), (state.relations ?? 0) + 1);
    const shown = await shownBy(state, user);
    if (shown) deps.presence.privacyChanged(user, shown);
  }

  /** The answer to a privacy request, and what watchers are to be shown when it changed that. */
  async function onPrivacy(state: UserState, user: string, request: PrivacyRequest): Promise<{ result: CommandResult; shown?: PresenceShown }> {
    const { replyTo } = request;
    try {
      const current = state.privacy ?? (await deps.stores.privacy.settings(user));
      const next: PrivacySettings = { ...current, ...request.changes };
      const changed = next.lastSeen !== current.lastSeen || next.online !== current.online || next.groups !== current.groups || next.profile !== current.profile;
      // Saved before it is answered or acted on: what the user was told holds after a restart.
      if (changed) await deps.stores.privacy.setSettings(user, next);
      state.privacy = next;
      const result = replied({ t: "privacy", r: replyTo.r, last_seen: next.lastSeen, online: next.online, groups: next.groups, profile: next.profile });
      if (next.lastSeen !== current.lastSeen || next.online !== current.online) return { result, shown: presenceShown(next, state.relations) };
      return { result };
    } catch (error) {
      // Not a crash: restarting the actor would close every device of the user for one setting.
      const unavailable = error instanceof StorageUnavailableError;
      deps.log[unavailable ? "warn" : "error"]({ err: error, user }, "privacy settings failed");
      return { result: refuse(unavailable ? "unavailable" : "internal", "privacy settings failed; retry") };
    }
  }

  function onInvite(state: UserState, notice: GroupInviteNotice): void {
    const { chat, by, name, invite, expires } = notice;
    for (const session of state.sessions.values()) deps.link.send(session.conn, { t: "group.invite", chat, by, name, invite, expires });
  }

  async function onDeliver(state: UserState, user: string, deliver: Deliver): Promise<void> {
    for (const [device, session] of state.sessions) {
      const fromThisDevice = deliver.origin.user === user && deliver.origin.device === device;
      for (const message of deliver.messages) {
        const chat = message.chat;
        const handed = session.sent.get(chat) ?? 0;
        if (message.seq <= handed) continue;
        if (message.seq > handed + 1) {
          // A gap opens when this session missed a deliver, or when the first message of a
          // group reaches a new member; fill it from the store, never from before they joined.
          const floors = await groupFloor(user, chat);
          const from = Math.max(handed, (floors.get(chat) ?? 1) - 1);
          if (message.seq > from + 1) {
            const gap = await deps.stores.messages.readAfter(chat, from, message.seq - from - 1);
            for (const frame of await framesOf(gap, floors)) send(session, frame);
          }
        }
        session.sent.set(chat, message.seq);
        if (!fromThisDevice) {
          send(session, toClientFrame(message));
        } else if ((session.cursors.get(chat) ?? 0) === message.seq - 1) {
          // The sender has its own message already (it got `sent`): count it as acked.
          session.cursors.set(chat, message.seq);
          persistCursor(user, device, chat, message.seq);
        }
      }
    }
  }

  function onAck(state: UserState, user: string, ack: DeviceAck): void {
    const session = state.sessions.get(ack.device);
    if (!session || !sameConnection(session.conn, ack.conn)) return;
    // A device can only ack what this connection was handed; anything beyond is ignored.
    const seq = Math.min(ack.seq, session.sent.get(ack.chat) ?? 0);
    if (seq <= (session.cursors.get(ack.chat) ?? 0)) return;
    session.cursors.set(ack.chat, seq);
    persistCursor(user, ack.device, ack.chat, seq);
    deps.conversations.tell(ack.chat, { type: "mark", user, delivered: seq });
  }

  async function onTyping(state: UserState, user: string, notice: TypingNotice): Promise<void> {
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

  function onReceipt(state: UserState, notice: ReceiptNotice): void {
    for (const session of state.sessions.values()) {
      deps.link.send(session.conn, { t: "receipt", chat: notice.chat, user: notice.user, delivered: notice.delivered, read: notice.read });
    }
  }

  return {
    initialState: () => new UserState(),
    async handle(state, message, user) {
      switch (message.type) {
        case "attach":
          await onAttach(state, user, message);
          break;
        case "detach": {
          const session = state.sessions.get(message.device);
          if (session && sameConnection(session.conn, message.conn)) {
            state.sessions.delete(message.device);
            if (state.sessions.size === 0) deps.presence.userOffline(user, deps.clock.now(), state.privacy && presenceShown(state.privacy, state.relations));
            shareBudget(state);
          }
          break;
        }
        case "gateways-gone": {
          const before = state.sessions.size;
          for (const [device, session] of state.sessions) {
            if (!message.nodes.includes(session.conn.node)) continue;
            state.sessions.delete(device);
            // A node only cut off for a while still holds the socket, which would hear nothing
            // more from here: have it reconnect and attach again.
            deps.link.close(session.conn, CLOSE_CODES.going_away, "your node left the cluster; reconnect");
          }
          if (state.sessions.size === before) break;
          if (state.sessions.size === 0) deps.presence.userOffline(user, deps.clock.now(), state.privacy && presenceShown(state.privacy, state.relations));
          shareBudget(state);
          break;
        }
        case "deliver":
          await onDeliver(state, user, message);
          break;
        case "ack":
          onAck(state, user, message);
          break;
        case "receipt":
          onReceipt(state, message);
          break;
        case "typing":
          await onTyping(state, user, message);
          break;
        case "contacts":
          if (await handleContactsRequest(lists, state, user, message)) await relationsChanged(state, user);
          break;
        case "privacy": {
          const { result, shown } = await onPrivacy(state, user, message);
          answer(deps.link, message.replyTo, result);
          // The user hears their settings are saved before their watchers see the change.
          if (shown) deps.presence.privacyChanged(user, shown);
          break;
        }
        case "group.invite":
          onInvite(state, message);
          break;
        case "call.ring":
        case "call.joined":
        case "call.over":
        case "call.event":
          if (deps.calls) await onUserCallMessage(withBlocks(deps.calls, state, user), state.calls, state.sessions, user, message);
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
    },
    keepAlive: (state) => state.sessions.size > 0 || state.calls.ringingNow(deps.clock.now()),
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
