/**
 * `chats`: the list a new device starts from. Read-only over the stores, for the requesting
 * user only, so it needs no actor: the chat's writers (ConversationActors) keep every piece
 * it reads, and a list a moment stale is what any list is by the time it arrives.
 *
 * Cost: the sort key is the last message's time, which no index holds, so each request reads
 * the user's inbox and group list, each group's head (lastSeq) and every chat's last message
 * (one readBefore per chat) to sort; only the page's chats then pay for marks and group info.
 * A user in a few thousand chats costs a few thousand point reads per request; fine for a
 * device's first start (one request, then it follows live frames), not for polling.
 */
import { CHATS_DEFAULT_LIMIT, isGroupChat, type ChatSummary, type ChatsFrame } from "../protocol/frames.ts";
import type { Stores } from "../storage/stores.ts";

interface Candidate {
  chat: string;
  last: number;
  ts: number;
  /** Who wrote the last entry: the user's own means nothing is unread. */
  from: string;
}

/** An opaque position after the page's last chat: its last message time and its id. */
export function encodeCursor(ts: number, chat: string): string {
  return Buffer.from(JSON.stringify([ts, chat])).toString("base64url");
}

function decodeCursor(cursor: string): { ts: number; chat: string } | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === "string") {
      return { ts: value[0] as number, chat: value[1] };
    }
  } catch {
    // Not ours: answered as a bad field below.
  }
  return undefined;
}

/** Newest first; equal times by chat id, so the order (and a cursor into it) is total. */
function newestFirst(a: { ts: number; chat: string }, b: { ts: number; chat: string }): number {
  return b.ts - a.ts || (a.chat < b.chat ? -1 : a.chat > b.chat ? 1 : 0);
}

export class BadCursorError extends Error {
  override readonly name = "BadCursorError";
}

export class ChatList {
  constructor(private readonly stores: Pick<Stores, "messages" | "groups" | "receipts">) {}

  async list(user: string, r: number, after: string | undefined, limit = CHATS_DEFAULT_LIMIT): Promise<ChatsFrame> {
    const from = after === undefined ? undefined : decodeCursor(after);
    if (after !== undefined && !from) throw new BadCursorError("`after` is not a cursor this server gave");
    const candidates = await this.candidates(user);
    candidates.sort(newestFirst);
    const start = from ? candidates.findIndex((c) => newestFirst(c, from) > 0) : 0;
    const page = start < 0 ? [] : candidates.slice(start, start + limit);
    const chats: ChatSummary[] = [];
    for (const c of page) chats.push(await this.summary(user, c));
    const last = page[page.length - 1];
    const more = start >= 0 && start + limit < candidates.length;
    return { t: "chats", r, chats, ...(more && last ? { next: encodeCursor(last.ts, last.chat) } : {}) };
  }

  /**
   * Every chat the user is in or was told of: the inbox (direct chats, small groups, and groups
   * left, up to the notice of leaving), plus current groups, whose head is their last seq
   * (large groups write no inbox entries).
   */
  private async candidates(user: string): Promise<Candidate[]> {
    const [inbox, groups] = await Promise.all([this.stores.messages.inbox(user), this.stores.groups.groupsOf(user)]);
    const heads = new Map<string, number>();
    for (const { chat, seq } of inbox) heads.set(chat, seq);
    for (const chat of groups) heads.set(chat, await this.stores.messages.lastSeq(chat));
    const candidates: Candidate[] = [];
    for (const [chat, last] of heads) {
      if (last <= 0) {
        // A group with no message yet cannot exist (its creation is one); skip defensively.
        continue;
      }
      const [message] = await this.stores.messages.readBefore(chat, last + 1, 1);
      candidates.push({ chat, last, ts: message?.ts ?? 0, from: message?.from ?? "" });
    }
    return candidates;
  }

  private async summary(user: string, c: Candidate): Promise<ChatSummary> {
    const marks = await this.stores.receipts.marks(c.chat);
    let floor = 1;
    let group: { name: string; members: number } | undefined;
    if (isGroupChat(c.chat)) {
      const info = await this.stores.groups.get(c.chat);
      if (info) {
        floor = info.joined[user] ?? 1;
        if (info.members.includes(user)) group = { name: info.name, members: info.members.length };
      }
    }
    const read = Math.max(marks.get(user)?.read ?? 0, floor - 1);
    // The user's own last message means they saw everything before it.
    const unread = c.from === user ? 0 : Math.max(0, c.last - read);
    return { chat: c.chat, last_seq: c.last, last_ts: c.ts, unread, ...(group ? { name: group.name, members: group.members } : {}) };
  }
}
