import type { Tell } from "../seams.ts";
import type { Clock, Timer } from "../util/clock.ts";
import type { TypingExpired, TypingNotice, TypingUpdate } from "./messages.ts";

interface TypingState {
  on: boolean;
  forwardedAt: number;
  token: number;
  /** Pending expiry; it holds the chat's actor active until it fires or is cancelled. */
  expiry: Expiry | undefined;
}

/**
 * A timer that a repeated `on` pushes back. `done` settles once: when the timer fires (after
 * `fire` ran) or when it is cancelled, whichever comes first.
 */
class Expiry {
  readonly done: Promise<void>;
  private settle: () => void = () => undefined;
  private timer: Timer | undefined;

  constructor(private readonly clock: Clock) {
    this.done = new Promise((resolve) => (this.settle = resolve));
  }

  arm(ms: number, fire: () => void): void {
    this.timer?.cancel();
    this.timer = this.clock.setTimeout(() => {
      fire();
      this.settle();
    }, ms);
  }

  cancel(): void {
    this.timer?.cancel();
    this.settle();
  }
}

// Shared by every relay: a restarted actor's fresh relay must never take an expiry of its
// predecessor's for one of its own.
let nextToken = 1;

export interface TypingContext {
  limits: { typingThrottleMs: number; typingExpiryMs: number };
  /** Reads the throttle window and runs the expiry timers. */
  clock: Clock;
  forward(member: string, notice: TypingNotice): void;
  /** The chat's own actor: `track` keeps it alive while an expiry is pending. */
  self: Tell<TypingExpired> & { track(chat: string, work: Promise<unknown>): void };
}

/**
 * Typing indicators of one chat: relayed to the other members' live devices only, never
 * stored or queued. A user's repeated `on` is forwarded at most once per throttle window;
 * an `on` never followed by `off` is switched off by the server after the expiry.
 *
 * Each expiry timer holds the actor active so the expiry is not lost to passivation. When it
 * fires, it tells the actor `typing-expired` before letting go, so the queued message holds
 * the actor from there (as any queued mail does) until it is handled, whatever it finds, even
 * in an actor restarted meanwhile (whose state no longer knows the timer).
 */
export class TypingRelay {
  private readonly byUser = new Map<string, TypingState>();

  /** True when no indicator is on (and so no expiry timer holds the actor). */
  get idle(): boolean {
    return this.byUser.size === 0;
  }

  handle(chat: string, members: readonly string[], message: TypingUpdate | TypingExpired, context: TypingContext): void {
    if (!members.includes(message.user)) return;
    const now = context.clock.now();
    const current = this.byUser.get(message.user);
    if (message.type === "typing-expired") {
      if (!current || current.token !== message.token) return;
      this.byUser.delete(message.user);
      this.relay(chat, members, message.user, false, context);
      return;
    }
    if (!message.on) {
      if (!current) return;
      this.stop(chat, message.user, current, context);
      this.relay(chat, members, message.user, false, context);
      return;
    }
    const state = current ?? { on: false, forwardedAt: 0, token: 0, expiry: undefined };
    if (!state.expiry) {
      state.expiry = new Expiry(context.clock);
      context.self.track(chat, state.expiry.done);
    }
    state.token = nextToken++;
    const token = state.token;
    state.expiry.arm(context.limits.typingExpiryMs, () => {
      state.expiry = undefined;
      context.self.tell(chat, { type: "typing-expired", user: message.user, token });
    });
    this.byUser.set(message.user, state);
    if (state.on && now - state.forwardedAt < context.limits.typingThrottleMs) return;
    state.on = true;
    state.forwardedAt = now;
    this.relay(chat, members, message.user, true, context);
  }

  private stop(chat: string, user: string, state: TypingState, context: TypingContext): void {
    state.expiry?.cancel();
    state.expiry = undefined;
    this.byUser.delete(user);
  }

  private relay(chat: string, members: readonly string[], user: string, on: boolean, context: TypingContext): void {
    for (const member of members) {
      if (member !== user) context.forward(member, { type: "typing", chat, user, on });
    }
  }
}

/** Direct chats one user may be typing in at once without a live chat actor; more are dropped. */
const MAX_UNATTENDED_PER_TYPIST = 16;

/**
 * Typing in direct chats whose actor is not live (typing never wakes one): the same throttle
 * and expiry as a chat's own relay, kept by the chat's owner node until the indicator goes
 * off or expires. An entry lives at most the expiry, and each typist holds at most a few, so
 * typing into made-up chats leaves nothing behind and cannot crowd out anyone else's.
 */
export class UnattendedTyping {
  /** One relay per (chat, typist): each then only ever holds its typist's indicator. */
  private readonly relays = new Map<string, TypingRelay>();
  private readonly perTypist = new Map<string, number>();

  constructor(
    private readonly limits: TypingContext["limits"],
    /** False when the member is known not to be around (their UserActor is not live on this node). */
    private readonly forward: (member: string, notice: TypingNotice) => boolean,
    private readonly clock: Clock,
  ) {}

  handle(chat: string, members: readonly string[], message: TypingUpdate | TypingExpired): void {
    const key = `${chat}\u0000${message.user}`;
    let relay = this.relays.get(key);
    const created = !relay;
    if (!relay) {
      // An `off` or an expiry with nothing on: nothing to relay (the chat's actor relayed the `on`).
      if (message.type !== "typing" || !message.on) return;
      const held = this.perTypist.get(message.user) ?? 0;
      if (held >= MAX_UNATTENDED_PER_TYPIST) return;
      this.perTypist.set(message.user, held + 1);
      relay = new TypingRelay();
      this.relays.set(key, relay);
    }
    let reached = false;
    const context: TypingContext = {
      limits: this.limits,
      clock: this.clock,
      forward: (member, notice) => void (this.forward(member, notice) && (reached = true)),
      self: { tell: (_chat, expired) => this.handle(chat, members, expired), track: () => undefined },
    };
    relay.handle(chat, members, message, context);
    // Nobody there to see it: keep no throttle or expiry for it (it is switched off unsaid).
    if (created && !reached) relay.handle(chat, members, { type: "typing", user: message.user, on: false }, { ...context, forward: () => undefined });
    if (relay.idle && this.relays.get(key) === relay) {
      this.relays.delete(key);
      const held = (this.perTypist.get(message.user) ?? 1) - 1;
      if (held > 0) this.perTypist.set(message.user, held);
      else this.perTypist.delete(message.user);
    }
  }
}
