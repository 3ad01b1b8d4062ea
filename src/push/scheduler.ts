import { isEventEntry } from "../actors/client-frames.ts";
import type { CursorStore } from "../storage/cursors.ts";
import type { StoredMessage } from "../storage/messages.ts";
import type { PushDnd, PushPlatform, PushRegistration, PushRegistrationStore, PushSettings } from "../storage/push.ts";
import type { Clock, Timer } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import { previewOf, summarise, type PendingMessage, type PushProvider } from "./notification.ts";

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

interface Pending extends PendingMessage {
  dueAt: number;
  /** Devices already pushed about this message: a message is pushed to a device once. */
  pushedTo: Set<string>;
}

interface UserPending {
  entries: Pending[];
  timer: Timer | undefined;
  lastPushAt: number;
  checking: boolean;
}

// Bounds memory for a user who stays offline through a flood: a push only needs a summary.
const MAX_PENDING_PER_USER = 500;

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
  private stopped = false;

  constructor(private readonly deps: PushSchedulerDeps) {}

  private now(): number {
    return this.deps.clock.now();
  }

  /** Called by a chat's writer once a batch is durable. Cheap: no I/O until a delay passes. */
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
          pending = { entries: [], timer: undefined, lastPushAt: 0, checking: false };
          this.users.set(user, pending);
        }
        if (pending.entries.length >= MAX_PENDING_PER_USER) pending.entries.shift();
        pending.entries.push({ chat: message.chat, seq: message.seq, from: message.from, ts: message.ts, preview, dueAt, pushedTo: new Set() });
        this.arm(user, pending);
      }
    }
  }

  private arm(user: string, pending: UserPending): void {
    if (this.stopped || pending.checking) return;
    if (pending.entries.length === 0) {
      pending.timer?.cancel();
      pending.timer = undefined;
      // Keep the record while its coalescing window runs, so the window survives an empty moment.
      if (this.now() >= pending.lastPushAt + this.deps.options.coalesceMs) this.users.delete(user);
      else {
        pending.timer = this.deps.clock.setTimeout(() => {
          pending.timer = undefined;
          this.arm(user, pending);
        }, pending.lastPushAt + this.deps.options.coalesceMs - this.now());
      }
      return;
    }
    if (pending.timer) return;
    let at = Infinity;
    for (const entry of pending.entries) at = Math.min(at, entry.dueAt);
    at = Math.max(at, pending.lastPushAt + this.deps.options.coalesceMs);
    pending.timer = this.deps.clock.setTimeout(() => void this.fire(user, pending), Math.max(0, at - this.now()));
  }

  private async fire(user: string, pending: UserPending): Promise<void> {
    pending.timer = undefined;
    pending.checking = true;
    try {
      await this.check(user, pending);
    } catch (error) {
      this.deps.log.warn({ err: error, user }, "push check failed");
      // A store that failed now may work at the next message; do not loop on this batch.
      const now = this.now();
      pending.entries = pending.entries.filter((e) => e.dueAt > now);
    } finally {
      pending.checking = false;
      if (this.users.get(user) === pending) this.arm(user, pending);
    }
  }

  private async check(user: string, pending: UserPending): Promise<void> {
    const now = this.now();
    if (now < pending.lastPushAt + this.deps.options.coalesceMs) return;
    const due = pending.entries.filter((e) => e.dueAt <= now);
    if (due.length === 0) return;
    const registrations = await this.deps.store.registrations(user);
    if (registrations.length === 0) {
      this.emit({ type: "no-registrations", user });
    } else {
      const settings = await this.deps.store.settings(user);
      const quiet = inQuietHours(settings.dnd, now);
      for (const registration of registrations) {
        if (await this.checkDevice(registration, pending, due, settings, quiet, now)) pending.lastPushAt = now;
      }
    }
    pending.entries = pending.entries.filter((e) => e.dueAt > now);
  }

  /** True when a push went out (or was attempted) to this device. */
  private async checkDevice(
    registration: PushRegistration,
    pending: UserPending,
    due: readonly Pending[],
    settings: PushSettings,
    quiet: boolean,
    now: number,
  ): Promise<boolean> {
    const { user, device } = registration;
    const cursors = await this.deps.cursors.cursors(user, device);
    const unacked = (e: Pending) => (cursors.get(e.chat) ?? 0) < e.seq;
    const overdue = due.filter(unacked);
    if (overdue.length === 0) {
      this.emit({ type: "skipped", user, device, reason: "acked" });
      return false;
    }
    if (overdue.every((e) => e.pushedTo.has(device))) {
      this.emit({ type: "skipped", user, device, reason: "already-pushed" });
      return false;
    }
    const candidates = pending.entries.filter((e) => unacked(e) && !e.pushedTo.has(device));
    // Settled for this device whatever happens next: a muted or quiet message is not pushed later either.
    for (const entry of candidates) entry.pushedTo.add(device);
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
    const notification = summarise(audible);
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
    return true;
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
    for (const pending of this.users.values()) pending.timer?.cancel();
    this.users.clear();
    await Promise.all([...this.deps.providers.values()].map((p) => p.close()));
  }
}
