import { randomBytes } from "node:crypto";
import type { MediaAccess } from "../media/access.ts";
import type { TellIfActive } from "../seams.ts";
import { directChatMembers, type ErrorCode, type ServerFrame, type StatusItem, type StatusRequestFrame } from "../protocol/frames.ts";
import type { UserSetStore } from "../storage/contacts.ts";
import { StorageUnavailableError } from "../storage/errors.ts";
import type { GroupStore } from "../storage/groups.ts";
import type { MessageStore } from "../storage/messages.ts";
import type { OnlinePresence } from "../storage/presence.ts";
import type { RateLimits } from "../storage/rate-limits.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import { STATUS_VIEWERS_DEFAULT_LIMIT } from "../protocol/validate-status.ts";
import { inAudience, type StatusStore, type StoredStatus } from "../storage/status.ts";
import type { StatusNotice } from "./messages.ts";

export interface StatusSettings {
  ttlMs: number;
  postsPerDay: number;
  maxActive: number;
}

/**
 * Where features hide a poster from a viewer whatever the status's audience says. Blocking
 * plugs in here (`hiddenFrom` = the posters among `posters` who blocked `viewer`, i.e.
 * `BlockStore.holders`): a hidden poster's statuses are not listed, not viewable, their media
 * not downloadable, and no `status.new` about them reaches the viewer.
 */
export interface StatusHooks {
  hiddenFrom(posters: readonly string[], viewer: string): Promise<Set<string>> | Set<string>;
}

/** No reason besides blocks, which the node adds itself (src/actors/blocking.ts, hideFromBlocked). */
export const NO_STATUS_HIDING: StatusHooks = { hiddenFrom: () => new Set() };

export interface StatusServiceDeps {
  store: StatusStore;
  users: TellIfActive<StatusNotice>;
  /** Who is online: `status.new` goes to those only, and only through their live actors. */
  online: OnlinePresence;
  rateLimits: RateLimits;
  /** Where `status.list` finds the posters a viewer may see: their direct chats and groups. */
  messages: Pick<MessageStore, "inbox">;
  groups: Pick<GroupStore, "groupsOf" | "get">;
  /** The default audience (the poster's contacts), and posters a viewer has as contacts. */
  contacts: Pick<UserSetStore, "list">;
  media: MediaAccess;
  settings: StatusSettings;
  hooks: StatusHooks;
  log: Logger;
  /** A status's lifetime and the post budget's day read it. */
  clock: Clock;
}

/** Most posters one `status.list` reads (chat peers, group co-members, the client's own list). */
export const MAX_STATUS_CANDIDATES = 5000;
/** `status.list` reads a partition per candidate poster: a user gets this many per minute, across devices and nodes. */
export const STATUS_LISTS_PER_MINUTE = 60;
const READ_CONCURRENCY = 32;
const DAY_MS = 24 * 3600_000;

/** The pseudo-chat a status's media is linked to: members are its audience while it lives. */
export function statusMediaChat(poster: string, id: string): string {
  return `s:${poster}:${id}`;
}

/** 9 base-36 digits of the post time (so ids sort by time), then 12 random base-32 characters. */
export function newStatusId(ts: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let id = ts.toString(36).padStart(9, "0");
  for (const byte of randomBytes(12)) id += alphabet[byte & 31];
  return id;
}

function refusal(r: number | undefined, code: ErrorCode, msg: string): ServerFrame {
  return { t: "err", r, code, msg };
}

/**
 * Status updates, one service per node, serving the node's own connections. There is no
 * status actor: every write is a single idempotent store operation (a post is one record
 * carrying its audience; a view a set-add; a delete final), so posts, views and deletes for
 * one poster may arrive on any node at once without a single writer (docs/design.md, Status).
 */
export class StatusService {
  constructor(private readonly deps: StatusServiceDeps) {}

  /**
   * Answers one validated `status.*` frame of a local connection: resolves with the frame to
   * send (none for a `status.view` without `r`), refusals and failures as `err` frames.
   */
  handle(user: string, frame: StatusRequestFrame): Promise<ServerFrame | undefined> {
    return this.answer(user, frame).catch((error: unknown) => {
      const r = frame.r;
      if (error instanceof StorageUnavailableError) {
        this.deps.log.warn({ err: error, frame: frame.t }, "status request failed: storage unavailable");
        return refusal(r, "unavailable", "storage is unavailable; retry");
      }
      this.deps.log.error({ err: error, frame: frame.t }, "status request failed");
      return refusal(r, "internal", `${frame.t} failed`);
    });
  }

  private async answer(user: string, frame: StatusRequestFrame): Promise<ServerFrame | undefined> {
    switch (frame.t) {
      case "status.post":
        return this.post(user, frame);
      case "status.list": {
        const budget = await this.deps.rateLimits.hit(`status.list:${user}`, STATUS_LISTS_PER_MINUTE, 60_000);
        if (!budget.allowed) return refusal(frame.r, "rate_limited", `at most ${STATUS_LISTS_PER_MINUTE} status lists a minute`);
        return this.list(user, frame.r, frame.posters ?? []);
      }
      case "status.view": {
        const refused = await this.view(user, frame.poster, frame.id, frame.r);
        if (refused) return refused;
        return frame.r === undefined ? undefined : { t: "status.ok", r: frame.r };
      }
      case "status.viewers": {
        const now = this.deps.clock.now();
        if (!(await this.deps.store.get(user, frame.id, now))) return refusal(frame.r, "not_found", "no such status of yours (or it expired)");
        const limit = frame.limit ?? STATUS_VIEWERS_DEFAULT_LIMIT;
        const { views, count } = await this.deps.store.viewers(user, frame.id, frame.after, limit + 1);
        return { t: "status.viewers", r: frame.r, id: frame.id, count, viewers: views.slice(0, limit), more: views.length > limit };
      }
      case "status.delete": {
        // Expired but not yet swept counts as gone, like everywhere else.
        const status = await this.deps.store.get(user, frame.id, this.deps.clock.now());
        if (!status) return refusal(frame.r, "not_found", "no such status of yours (or it expired)");
        await this.removeStatus(user, frame.id, status.media?.id);
        return { t: "status.ok", r: frame.r };
      }
    }
  }

  private async post(user: string, frame: Extract<StatusRequestFrame, { t: "status.post" }>): Promise<ServerFrame> {
    const { settings, store } = this.deps;
    const now = this.deps.clock.now();
    const live = await store.live(user, now);
    if (live.length >= settings.maxActive) return refusal(frame.r, "limit_exceeded", `at most ${settings.maxActive} live statuses at once; delete one or wait`);
    const budget = await this.deps.rateLimits.hit(`status.post:${user}`, settings.postsPerDay, DAY_MS);
    if (!budget.allowed) return refusal(frame.r, "rate_limited", `at most ${settings.postsPerDay} statuses a day`);
    const id = newStatusId(now);
    if (frame.media) {
      // Linked before the status exists, as a chat links before its message: no stored status
      // ever names media its audience cannot fetch. Only what the poster may read can be posted.
      const decision = await this.deps.media.attach(statusMediaChat(user, id), user, frame.media);
      if (!decision.ok) return refusal(frame.r, decision.code, decision.msg);
    }
    // No `allow`: the poster's contacts as they are now. A snapshot, so a post stays one write
    // and a later change of contacts does not reach back into statuses already posted.
    const allow = (frame.audience?.allow ?? (await this.deps.contacts.list(user))).filter((member) => member !== user);
    const deny = frame.audience?.deny ?? [];
    const status: StoredStatus = {
      poster: user,
      id,
      kind: frame.kind,
      ...(frame.body !== undefined ? { body: frame.body } : {}),
      ...(frame.media ? { media: frame.media } : {}),
      ...(frame.caption !== undefined ? { caption: frame.caption } : {}),
      audience: { type: "list", allow, deny },
      ts: now,
      expiresAt: now + settings.ttlMs,
    };
    await store.post(status);
    void this.announce(status);
    return { t: "status.posted", r: frame.r, id, ts: now, expires: status.expiresAt };
  }

  /** `status.new` to the audience members online now; the rest find it when they next list. */
  private async announce(status: StoredStatus): Promise<void> {
    const audience = status.audience.allow.filter((member) => inAudience(status, member));
    try {
      const online = await this.deps.online.online(audience);
      for (const member of online.keys()) {
        if (await this.hidden(status.poster, member)) continue;
        this.deps.users.tellIfActive(member, { type: "status.notice", frame: { t: "status.new", poster: status.poster, id: status.id } });
      }
    } catch (error) {
      // A lost notification costs a viewer nothing but freshness: the status is durable.
      this.deps.log.warn({ err: error }, "status notification failed");
    }
  }

  private async list(user: string, r: number, named: readonly string[]): Promise<ServerFrame> {
    const now = this.deps.clock.now();
    const { store } = this.deps;
    const found = await this.candidates(user, named);
    const hidden = found.length > 0 ? await this.deps.hooks.hiddenFrom(found, user) : new Set<string>();
    const candidates = found.filter((poster) => !hidden.has(poster));
    const posters: Array<{ poster: string; statuses: StatusItem[]; newest: number }> = [];
    for (let start = 0; start < candidates.length; start += READ_CONCURRENCY) {
      const slice = candidates.slice(start, start + READ_CONCURRENCY);
      const found = await Promise.all(
        slice.map(async (poster) => {
          const visible = (await store.live(poster, now)).filter((status) => inAudience(status, user));
          if (visible.length === 0) return undefined;
          const seen = await store.seen(poster, visible.map((status) => status.id), user);
          return { poster, statuses: visible.map((status) => ({ ...item(status), seen: seen.has(status.id) })), newest: visible[0]!.ts };
        }),
      );
      for (const entry of found) if (entry) posters.push(entry);
    }
    posters.sort((a, b) => b.newest - a.newest);
    const own = await store.live(user, now);
    const mine = await Promise.all(own.map(async (status) => ({ ...item(status), views: (await store.viewers(user, status.id, undefined, 0)).count })));
    return { t: "status.list", r, posters: posters.map(({ poster, statuses }) => ({ poster, statuses })), mine };
  }

  /**
   * The posters whose statuses `user` may be in the audience of, without an index written per
   * audience member: whom they chat with directly, their groups' members, and the posters the
   * client names (a `status.new` it got), and their own contacts.
   */
  private async candidates(user: string, named: readonly string[]): Promise<string[]> {
    const found = new Set<string>(named);
    for (const contact of await this.deps.contacts.list(user)) found.add(contact);
    for (const entry of await this.deps.messages.inbox(user)) {
      const members = directChatMembers(entry.chat);
      if (members) found.add(members[0] === user ? members[1] : members[0]);
    }
    for (const chat of await this.deps.groups.groupsOf(user)) {
      if (found.size >= MAX_STATUS_CANDIDATES) break;
      for (const member of (await this.deps.groups.get(chat))?.members ?? []) found.add(member);
    }
    found.delete(user);
    return [...found].slice(0, MAX_STATUS_CANDIDATES);
  }

  /** Records the view; resolves with the refusal to answer instead, if any. */
  private async view(user: string, poster: string, id: string, r: number | undefined): Promise<ServerFrame | undefined> {
    const now = this.deps.clock.now();
    const status = poster === user ? undefined : await this.deps.store.get(poster, id, now);
    // Outside the audience reads as absent: a viewer learns nothing about statuses not for them.
    if (!status || !inAudience(status, user) || (await this.hidden(poster, user))) return refusal(r, "not_found", "no such status (or it expired)");
    if (await this.deps.store.view(poster, id, user, now, status.expiresAt)) {
      this.deps.users.tellIfActive(poster, { type: "status.notice", frame: { t: "status.viewed", id, by: user, ts: now } });
    }
    return undefined;
  }

  private async removeStatus(poster: string, id: string, mediaId: string | undefined): Promise<void> {
    if (mediaId) await this.deps.media.store.unlink(statusMediaChat(poster, id), mediaId);
    await this.deps.store.remove(poster, id);
  }

  /** Removes statuses expired at `now` (and unlinks their media); idempotent, so nodes may race. */
  async sweep(now = this.deps.clock.now(), batch = 500): Promise<number> {
    let removed = 0;
    for (;;) {
      const expired = await this.deps.store.expired(now, batch);
      for (const entry of expired) await this.removeStatus(entry.poster, entry.id, entry.mediaId);
      removed += expired.length;
      if (expired.length < batch) return removed;
    }
  }

  /** Whether `user` may fetch the media of the status `chat` names (statusMediaChat): its live audience. */
  async mayReadMedia(user: string, chat: string): Promise<boolean> {
    const parts = chat.split(":");
    if (parts.length !== 3 || parts[0] !== "s") return false;
    const status = await this.deps.store.get(parts[1]!, parts[2]!, this.deps.clock.now());
    return status !== undefined && inAudience(status, user) && !(await this.hidden(status.poster, user));
  }

  private async hidden(poster: string, viewer: string): Promise<boolean> {
    if (poster === viewer) return false;
    return (await this.deps.hooks.hiddenFrom([poster], viewer)).has(poster);
  }
}

function item(status: StoredStatus): StatusItem {
  return {
    id: status.id,
    kind: status.kind,
    ...(status.body !== undefined ? { body: status.body } : {}),
    ...(status.media ? { media: status.media } : {}),
    ...(status.caption !== undefined ? { caption: status.caption } : {}),
    ts: status.ts,
    expires: status.expiresAt,
  };
}
