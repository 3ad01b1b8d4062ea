import { isGroupChat, type ChatEventFrame, type MessageFrame, type SkipFrame } from "../protocol/frames.ts";
import type { StoredMessage } from "../storage/messages.ts";
import { hiddenEntry, toClientFrame, visibleFrom } from "./client-frames.ts";
import { markHanded, type DeviceSession, type UserDeps } from "./user-state.ts";

type EntryFrame = MessageFrame | ChatEventFrame | SkipFrame;

interface ChatToSync {
  chat: string;
  latest: number;
  /** The lowest seq the user may see (their join seq in a group). */
  floor: number;
}

/** Oldest first across chats; within a chat ts never decreases, so seq breaks ties. */
function byTimeThenSeq(a: StoredMessage, b: StoredMessage): number {
  return a.ts - b.ts || (a.chat < b.chat ? -1 : a.chat > b.chat ? 1 : a.seq - b.seq);
}

/**
 * Log entries as frames; stored edit entries get the edited message's current body. An
 * event about a message from before the user joined the group (`floors`: chat → join seq)
 * becomes a `skip` of its position.
 */
export async function framesOf(deps: UserDeps, entries: StoredMessage[], floors: ReadonlyMap<string, number>): Promise<EntryFrame[]> {
  const frames: EntryFrame[] = [];
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
 * The user's join seq of `chat` if it is a group, for filling a gap. One who is no longer
 * a member sees no event of the gap (the rare case of a gap just before their removal).
 */
export async function groupFloor(deps: UserDeps, user: string, chat: string): Promise<Map<string, number>> {
  if (!isGroupChat(chat)) return new Map();
  const info = await deps.stores.groups.get(chat);
  return new Map([[chat, info?.joined[user] ?? Number.MAX_SAFE_INTEGER]]);
}

/**
 * Every chat the user may have missed something in, with its latest seq and the lowest seq
 * the user may see. Direct chats and small groups come from the inbox written on send;
 * groups come from the user's group list (large groups write no inbox entries).
 */
async function chatsToSync(deps: UserDeps, user: string): Promise<ChatToSync[]> {
  const inbox = await deps.stores.messages.inbox(user);
  const groups = await deps.stores.groups.groupsOf(user);
  const memberOf = new Set(groups);
  const chats: ChatToSync[] = [];
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

/** What the device missed in every chat, oldest first; false in `recovered` when a chat was too far behind. */
async function missedEntries(deps: UserDeps, session: DeviceSession, chats: readonly ChatToSync[]): Promise<{ missed: StoredMessage[]; recovered: boolean }> {
  let recovered = true;
  const missed: StoredMessage[] = [];
  for (const { chat, latest, floor } of chats) {
    const cursor = Math.max(session.cursors.get(chat) ?? 0, floor - 1);
    if (latest <= cursor) continue;
    if (latest - cursor > deps.syncLimitPerChat) {
      // Too far behind to replay: hand over the newest part; the client pages history for the rest.
      recovered = false;
      missed.push(...(await deps.stores.messages.readBefore(chat, latest + 1, deps.syncLimitPerChat)));
    } else {
      missed.push(...(await deps.stores.messages.readAfter(chat, cursor, latest - cursor)));
    }
    markHanded(session, chat, latest);
  }
  missed.sort(byTimeThenSeq);
  return { missed, recovered };
}

/**
 * Brings a device that just attached up to date: every chat's missed entries from its
 * cursors, the other side's receipt marks of direct chats, pending invitations, then `synced`.
 */
export async function syncDevice(deps: UserDeps, user: string, session: DeviceSession): Promise<void> {
  const chats = await chatsToSync(deps, user);
  const { missed, recovered } = await missedEntries(deps, session, chats);
  const floors = new Map(chats.filter(({ chat }) => isGroupChat(chat)).map(({ chat, floor }) => [chat, floor]));
  for (const frame of await framesOf(deps, missed, floors)) deps.link.send(session.conn, frame);

  // Group receipts are counted on request; direct chats get the other side's marks now.
  for (const { chat } of chats) {
    if (isGroupChat(chat)) continue;
    for (const [member, marks] of await deps.stores.receipts.marks(chat)) {
      if (member === user) continue;
      deps.link.send(session.conn, { t: "receipt", chat, user: member, delivered: marks.delivered, read: marks.read });
    }
  }
  // Invitations wait in the store until accepted or expired: each hello lists them again.
  for (const invite of await deps.stores.invites.invites(user, deps.clock.now())) {
    deps.link.send(session.conn, { t: "group.invite", chat: invite.chat, by: invite.by, name: invite.name, invite: invite.invite, expires: invite.expiresAt });
  }
  deps.link.send(session.conn, { t: "synced", recovered });
}
