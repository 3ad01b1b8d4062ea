import { isEventEntry } from "../actors/client-frames.ts";
import type { CursorStore } from "../storage/cursors.ts";
import type { StoredMessage } from "../storage/messages.ts";
import type { PushDnd, PushPlatform, PushRegistration, PushRegistrationStore, PushSettings } from "../storage/push.ts";
import type { Clock, Timer } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import { previewOf, summarise, type PendingMessage, type PushProvider } from "./notification.ts";
import { WakeQueue } from "./wake-queue.ts";

/** One durable entry and who receives it, as the chat's writer hands it over. */
export interface DurableEntry {
  message: StoredMessage;
  audience: readonly string[];
}

/** What the scheduler decided for a device; tests wait on these, /metrics counts them. */
export type PushEvent =
  | { type: "skipped"; user: string; device: string; reason: "acked" | "already-pushed" | "muted" | "dnd" }
  | { type: "sent"; user: string; device: string; platform: PushPlatform; count: number; chats: string[] }
  | { type: "unregistered"; user: string; device: string; platform: PushPlatform; removed: boolean }
  | { type: "failed"; user: string; device: string; platform: PushPlatform; reason: string }
  | { type: "no-registrations"; user: string }
  /** A call push (docs/protocol.md, Calls) went out to a device. */
  | { type: "call-sent"; user: string; device: string; platform: PushPlatform; call: string };

export interface PushSchedulerOptions {
  delayMs: number;
  coalesceMs: number;
  previewChars: number;
}

export interface PushSchedulerDeps {
  store: PushRegistrationStore;
  cursors: CursorStore;
  providers: ReadonlyMap<PushPlatform, PushProvider>;
  log: Logger;
  options: PushSchedulerOptions;
  observe?: (event: PushEvent) => void;
  /** The delay, the coalescing window, mutes and quiet hours read it. */
  clock: Clock;
}

/**
 * One user's messages of one chat not yet settled, oldest first, in parallel arrays: a
 * message costs a few array slots here, not an object (seqs only grow within a chat, and
 * every message of a batch is due at the same time, so both arrays stay sorted).
 */
interface ChatPending {
  seqs: number[];
  dueAts: number[];
  froms: string[];
  tss: number[];
  previews: Array<string | undefined>;
}

interface UserPending {
  chats: Map<string, ChatPending>;
  /** Messages held across the user's chats. */
  count: number;
  /**
   * Per device, per chat: the highest seq the device was pushed about (or settled for, when
   * muted or quiet). A push covers everything the device had not acked, so one watermark
   * says what a set of devices per message would.
   */
  settled: Map<string, Map<string, number>>;
  lastPushAt: number;
  checking: boolean;
  /** When this user is next looked at (Infinity: not scheduled). */
  wakeAt: number;
}

// Bounds memory for a user who stays offline through a flood: a push only needs a summary.
const MAX_PENDING_PER_USER = 500;

/**
 * A look at a user settles what comes due within this share of the delay after the earliest
 * message too: a user hearing a message every few hundred milliseconds costs one store read
 * per fifth of the delay, not one per message. Such a message has had at least four fifths of
 * the delay to be acked.
 */
const LOOK_AHEAD_SHARE = 0.2;

const formatters = new Map<string, Intl.DateTimeFormat>();

function minuteOfDay(now: number, tz: string): number {
  let format = formatters.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", { timeZone: tz, hour: "numeric", minute: "numeric", hourCycle: "h23" });
    formatters.set(tz, format);
  }
  let hour = 0;
  let minute = 0;
  for (const part of format.formatToParts(new Date(now))) {
    if (part.type === "hour") hour = Number(part.value);
    if (part.type === "minute") minute = Number(part.value);
  }
  return hour * 60 + minute;
}

export function inQuietHours(dnd: PushDnd | undefined, now: number): boolean {
  if (!dnd || dnd.start === dnd.end) return false;
  const minute = minuteOfDay(now, dnd.tz ?? "UTC");
  return dnd.start < dnd.end ? minute >= dnd.start && minute < dnd.end : minute >= dnd.start || minute < dnd.end;
}

function muted(settings: PushSettings, chat: string, now: number): boolean {
  return (settings.mutes.get(chat) ?? 0) > now;
}

/**
 * Decides which devices get pushed. The trigger is a missing ack, read from the CursorStore
 * once the delay has passed, never connection state: a socket that looks closed may be fine
 * and one that looks open may be dead. Pushes carry a summary and no message to store, so a
 * device that wakes up syncs each message once, from its cursor.
 *
 * Per user: once a device has left a message unacked for the delay it is pushed about
 * everything it has not acked yet (a device that missed one ack is not going to ack the
 * next), and after a push the user gets no other for `coalesceMs`: what comes due meanwhile
 * goes out as one summary when the window ends.
 */
export class PushScheduler {
  private readonly users = new Map<string, UserPending>();
  /** One timer for every user: each is looked at when its earliest message comes due. */
  private readonly wakes: WakeQueue<{ user: string; pending: UserPending }>;
  private readonly lookAheadMs: number;
  private stopped = false;

  constructor(private readonly deps: PushSchedulerDeps) {
    this.wakes = new WakeQueue(deps.clock, ({ user, pending }, at) => this.woken(user, pending, at));
    this.lookAheadMs = Math.floor(deps.options.delayMs * LOOK_AHEAD_SHARE);
  }

  private now(): number {
    return this.deps.clock.now();
  }

  /** Called by a chat's writer once a batch is durable. Cheap: no I/O and no timer until a delay passes. */
  onDurable(entries: readonly DurableEntry[]): void {
    if (this.stopped) return;
    const dueAt = this.now() + this.deps.options.delayMs;
    for (const { message, audience } of entries) {
      // Edits, reactions and membership notices ride along with the next sync; they do not wake a phone.
      if (isEventEntry(message) || message.kind === "system") continue;
      const preview = previewOf(message.kind, message.body, this.deps.options.previewChars);
      for (const user of audience) {
        if (user === message.from) continue;
        let pending = this.users.get(user);
        if (!pending) {
          pending = { chats: new Map(), count: 0, settled: new Map(), lastPushAt: 0, checking: false, wakeAt: Infinity };
          this.users.set(user, pending);
        }
        if (pending.count >= MAX_PENDING_PER_USER) dropOldest(pending);
        let chat = pending.chats.get(message.chat);
        if (!chat) pending.chats.set(message.chat, (chat = { seqs: [], dueAts: [], froms: [], tss: [], previews: [] }));
        chat.seqs.push(message.seq);
        chat.dueAts.push(dueAt);
        chat.froms.push(message.from);
        chat.tss.push(message.ts);
        chat.previews.push(preview);
        pending.count += 1;
        this.arm(user, pending);
      }
    }
  }

  /** Schedules the next look at `user`, or forgets them once nothing is held and their window is over. */
  private arm(user: string, pending: UserPending): void {
    if (this.stopped || pending.checking) return;
    const windowEnds = pending.lastPushAt + this.deps.options.coalesceMs;
    if (pending.count === 0) {
      // Keep the record while its coalescing window runs, so the window survives an empty moment.
      if (this.now() >= windowEnds) {
        this.users.delete(user);
        pending.wakeAt = Infinity;
      } else {
        this.wakeAt(user, pending, windowEnds);
      }
      return;
    }
    let at = Infinity;
    for (const chat of pending.chats.values()) at = Math.min(at, chat.dueAts[0] ?? Infinity);
    this.wakeAt(user, pending, Math.max(at, windowEnds));
  }

  private wakeAt(user: string, pending: UserPending, at: number): void {
    // An earlier wake still comes: it looks again and schedules the next one.
    if (pending.wakeAt <= at) return;
    pending.wakeAt = at;
    this.wakes.wake({ user, pending }, at);
  }

  private woken(user: string, pending: UserPending, at: number): void {
    // A wake superseded by an earlier one, or for a record since forgotten.
    if (pending.wakeAt !== at || this.users.get(user) !== pending) return;
    pending.wakeAt = Infinity;
    if (pending.count === 0) this.arm(user, pending);
    else void this.fire(user, pending);
  }

  private async fire(user: string, pending: UserPending): Promise<void> {
    pending.checking = true;
    try {
      await this.check(user, pending);
    } catch (error) {
      this.deps.log.warn({ err: error, user }, "push check failed");
      // A store that failed now may work at the next message; do not loop on this batch.
      dropDue(pending, this.now() + this.lookAheadMs);
    } finally {
      pending.checking = false;
      if (this.users.get(user) === pending) this.arm(user, pending);
    }
  }

  private async check(user: string, pending: UserPending): Promise<void> {
    const now = this.now();
    if (now < pending.lastPushAt + this.deps.options.coalesceMs) return;
    // Everything due by `horizon` is settled by this look (LOOK_AHEAD_SHARE).
    const horizon = now + this.lookAheadMs;
    if (!anyDue(pending, now)) return;
    const registrations = await this.deps.store.registrations(user);
    if (registrations.length === 0) {
      this.emit({ type: "no-registrations", user });
    } else {
      const settings = await this.deps.store.settings(user);
      const quiet = inQuietHours(settings.dnd, now);
      for (const registration of registrations) {
        if (await this.checkDevice(registration, pending, settings, quiet, now, horizon)) pending.lastPushAt = now;
      }
    }
    dropDue(pending, horizon);
  }

  /** True when a push went out (or was attempted) to this device. */
  private async checkDevice(registration: PushRegistration, pending: UserPending, settings: PushSettings, quiet: boolean, now: number, horizon: number): Promise<boolean> {
    const { user, device } = registration;
    const cursors = await this.deps.cursors.cursors(user, device);
    let settled = pending.settled.get(device);
    if (!settled) pending.settled.set(device, (settled = new Map()));
    const verdict = overdueFor(pending, cursors, settled, horizon);
    if (verdict !== "push") {
      this.emit({ type: "skipped", user, device, reason: verdict });
      return false;
    }
    // Settled for this device whatever happens next: a muted or quiet message is not pushed later either.
    const candidates = settle(pending, cursors, settled);
    const audible = candidates.filter((e) => !muted(settings, e.chat, now));
    if (audible.length === 0) {
      this.emit({ type: "skipped", user, device, reason: "muted" });
      return false;
    }
    if (quiet) {
      this.emit({ type: "skipped", user, device, reason: "dnd" });
      return false;
    }
    const provider = this.deps.providers.get(registration.platform);
    if (!provider) {
      this.emit({ type: "failed", user, device, platform: registration.platform, reason: "platform not configured" });
      return false;
    }
    await this.sendTo(provider, registration, summarise(audible));
    return true;
  }

  private async sendTo(provider: PushProvider, registration: PushRegistration, notification: ReturnType<typeof summarise>): Promise<void> {
    const { user, device } = registration;
    let outcome;
    try {
      outcome = await provider.send(registration, notification);
    } catch (error) {
      outcome = { kind: "failed" as const, reason: error instanceof Error ? error.message : String(error) };
    }
    if (outcome.kind === "sent") {
      this.emit({ type: "sent", user, device, platform: registration.platform, count: notification.count, chats: notification.chats.map((c) => c.chat) });
    } else if (outcome.kind === "unregistered") {
      const removed = await this.deps.store.removeIfToken(user, device, registration.token);
      this.deps.log.info({ user, device, platform: registration.platform, reason: outcome.reason, removed }, "push token unregistered by provider");
      this.emit({ type: "unregistered", user, device, platform: registration.platform, removed });
    } else {
      this.deps.log.warn({ user, device, platform: registration.platform, reason: outcome.reason }, "push failed");
      this.emit({ type: "failed", user, device, platform: registration.platform, reason: outcome.reason });
    }
  }

  private emit(event: PushEvent): void {
    try {
      this.deps.observe?.(event);
    } catch (error) {
      this.deps.log.warn({ err: error }, "push observer threw");
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakes.stop();
    this.users.clear();
    await Promise.all([...this.deps.providers.values()].map((p) => p.close()));
  }
}

/** Whether any message held for the user is due by `now`. */
function anyDue(pending: UserPending, now: number): boolean {
  for (const chat of pending.chats.values()) if ((chat.dueAts[0] ?? Infinity) <= now) return true;
  return false;
}

/** Forgets every message due by `horizon` (checked, pushed or not); a chat left empty goes. */
function dropDue(pending: UserPending, horizon: number): void {
  for (const [id, chat] of pending.chats) {
    let due = 0;
    while (due < chat.dueAts.length && chat.dueAts[due]! <= horizon) due += 1;
    if (due === 0) continue;
    dropFirst(chat, due);
    pending.count -= due;
    if (chat.seqs.length === 0) pending.chats.delete(id);
  }
}

/** Makes room for one more: forgets the user's oldest held message. */
function dropOldest(pending: UserPending): void {
  let oldest: [string, ChatPending] | undefined;
  // Chats in the map always hold a message: an emptied one is deleted at once.
  for (const entry of pending.chats) if (!oldest || entry[1].dueAts[0]! < oldest[1].dueAts[0]!) oldest = entry;
  if (!oldest) return;
  dropFirst(oldest[1], 1);
  pending.count -= 1;
  if (oldest[1].seqs.length === 0) pending.chats.delete(oldest[0]);
}

// splice, not a copy down: V8 trims a fast array's head in place, so dropping the oldest of a
// full user's 500 (once per message while they stay offline through a flood) costs O(1).
function dropFirst(chat: ChatPending, count: number): void {
  chat.seqs.splice(0, count);
  chat.dueAts.splice(0, count);
  chat.froms.splice(0, count);
  chat.tss.splice(0, count);
  chat.previews.splice(0, count);
}

/**
 * Whether a device is to be pushed now: "acked" when it acked everything due by `horizon`,
 * "already-pushed" when all it left unacked was pushed before.
 */
function overdueFor(pending: UserPending, cursors: ReadonlyMap<string, number>, settled: ReadonlyMap<string, number>, horizon: number): "push" | "acked" | "already-pushed" {
  let overdue = false;
  for (const [id, chat] of pending.chats) {
    const acked = cursors.get(id) ?? 0;
    const pushed = settled.get(id) ?? 0;
    for (let i = 0; i < chat.seqs.length && chat.dueAts[i]! <= horizon; i += 1) {
      if (chat.seqs[i]! <= acked) continue;
      if (chat.seqs[i]! > pushed) return "push";
      overdue = true;
    }
  }
  return overdue ? "already-pushed" : "acked";
}

/** Every held message the device has neither acked nor been pushed about, now marked as pushed. */
function settle(pending: UserPending, cursors: ReadonlyMap<string, number>, settled: Map<string, number>): PendingMessage[] {
  const candidates: PendingMessage[] = [];
  for (const [id, chat] of pending.chats) {
    const from = Math.max(cursors.get(id) ?? 0, settled.get(id) ?? 0);
    for (let i = 0; i < chat.seqs.length; i += 1) {
      if (chat.seqs[i]! <= from) continue;
      candidates.push({ chat: id, seq: chat.seqs[i]!, from: chat.froms[i]!, ts: chat.tss[i]!, preview: chat.previews[i] });
    }
    const last = chat.seqs.at(-1);
    if (last !== undefined && last > from) settled.set(id, last);
  }
  return candidates;
}
