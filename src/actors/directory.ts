import { dispatch, spawn, stop, type ActorSystemRef, type Ref, type SupervisionContext } from "nact";
import type { Logger } from "../util/logger.ts";
import type { Tell, TellIfActive } from "../seams.ts";

/** What one kind of actor does; the directory owns its lifecycle. */
export interface ActorBehaviour<Msg, State> {
  /** Fresh state for a (re)started actor. Must be cheap and synchronous: load lazily in `handle`. */
  initialState(key: string): State;
  handle(state: State, message: Msg, key: string): Promise<State> | State;
  /** Tell whoever waits on `message` that handling it crashed; `key` names the actor. */
  answerCrash(message: Msg, error: unknown, key: string): void;
  /** State that must not be passivated even when idle (a user with live devices). */
  keepAlive?(state: State): boolean;
  /**
   * State of an actor that holds nothing worth keeping (a chat that does not exist): it is
   * stopped as soon as it has nothing queued or in flight, rather than after the idle
   * timeout, so frames naming made-up keys leave nothing behind.
   */
  disposable?(state: State): boolean;
  /**
   * A message told with `tellIfActive` found no live actor. The behaviour may still do
   * something cheap with it (never activate an actor: that is what the caller asked not to do).
   */
  missed?(message: Msg, key: string): void;
  /**
   * Whether `handle` finishes `message` synchronously in `state`, mutating `state` in place
   * and returning it: then an idle actor (nothing queued) is handed it at once, inside the
   * teller's turn, instead of through its mailbox (a setImmediate and a context per message;
   * a 500-member group's fan-out is 500 of them).
   */
  handlesAtOnce?(state: State, message: Msg): boolean;
}

export interface SupervisionPolicy {
  idleMs: number;
  maxRestarts: number;
  withinMs: number;
}

export interface DirectoryEvents {
  restart(kind: string): void;
  escalate(kind: string): void;
  deadLetter(kind: string): void;
}

interface Entry<Msg, State> {
  ref: Ref<Msg>;
  /** The actor's state as of its last handled message, for passivation decisions. */
  state: State | undefined;
  /** Messages dispatched and not yet handled, plus work in flight it tracks (`track`). */
  pending: number;
  /** Messages dispatched and not yet handled (the one being handled included). */
  mail: number;
  /** Handling a message threw, and the supervisor has not restarted the actor yet. */
  faulted: boolean;
  lastUsed: number;
  crashes: number[];
  /** Set when another node took this key over: stop as soon as nothing is in flight. */
  evicting: boolean;
  /** Handling something outside its mailbox right now (at once, or `runIfIdle`): nothing else may start. */
  running: boolean;
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === "function";
}

interface QueuedMail<Msg> {
  message: Msg;
}

const NOTHING_HELD = (): void => {};

/**
 * The live actors of one kind, keyed by user or chat id, each a nact actor supervised by
 * a parent that never handles messages itself.
 *
 * Messages go straight to the child's ref: routing through the parent would copy its child
 * map on every message (nact builds a context per message). Activation is get-or-spawn;
 * passivation happens only when an actor has nothing queued and nothing in flight, so no
 * message is ever dispatched into an actor that is stopping.
 */
export class ActorDirectory<Msg, State> implements Tell<Msg>, TellIfActive<Msg> {
  private readonly entries = new Map<string, Entry<Msg, State>>();
  private readonly supervisor: Ref<never>;
  private readonly sweeper: NodeJS.Timeout;
  private nextName = 0;
  private stopped = false;
  /** Callers of `whenIdle`, settled when nothing is queued or in flight any more. */
  private idleWaiters: Array<() => void> = [];

  private readonly behaviour: ActorBehaviour<Msg, State>;

  /**
   * `behaviour` may be built from the directory itself, for actors that tell themselves
   * (a write's outcome) or `track` work in flight.
   */
  constructor(
    system: ActorSystemRef,
    private readonly kind: string,
    behaviour: ActorBehaviour<Msg, State> | ((self: ActorDirectory<Msg, State>) => ActorBehaviour<Msg, State>),
    private readonly policy: SupervisionPolicy,
    private readonly log: Logger,
    private readonly events: DirectoryEvents,
  ) {
    this.behaviour = typeof behaviour === "function" ? behaviour(this) : behaviour;
    // The supervisor only receives escalations; stopping the child is its whole job.
    this.supervisor = spawn(system, (state: undefined) => state, kind, {
      onCrash: (_message, _error, ctx) => ctx.stopChild,
    }) as Ref<never>;
    this.sweeper = setInterval(() => this.passivateIdle(), Math.max(250, Math.floor(policy.idleMs / 2)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.entries.size;
  }

  /** True while any actor has mail queued or work (a store write) in flight. */
  busy(): boolean {
    for (const entry of this.entries.values()) if (entry.pending > 0) return true;
    return false;
  }

  /**
   * Resolves once no actor has mail queued or work in flight (at once when none has), or
   * once the directory has stopped. Work may start again afterwards: check `busy()`.
   */
  whenIdle(): Promise<void> {
    if (!this.busy()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  tell(key: string, message: Msg): void {
    if (this.stopped) {
      this.events.deadLetter(this.kind);
      this.behaviour.answerCrash(message, new Error(`${this.kind} directory stopped`), key);
      return;
    }
    const entry = this.entries.get(key) ?? this.activate(key);
    this.post(key, entry, message);
  }

  private post(key: string, entry: Entry<Msg, State>, message: Msg): void {
    entry.lastUsed = Date.now();
    if (this.handleAtOnce(key, entry, message)) return;
    entry.pending += 1;
    entry.mail += 1;
    dispatch(entry.ref, message);
  }

  /**
   * Hands `message` to an idle actor now when its behaviour says it handles it synchronously
   * (handlesAtOnce): the order of its messages is kept, as nothing of it is queued or running.
   */
  private handleAtOnce(key: string, entry: Entry<Msg, State>, message: Msg): boolean {
    const behaviour = this.behaviour;
    const state = entry.state;
    if (!this.betweenMessages(entry) || state === undefined || !behaviour.handlesAtOnce?.(state, message)) return false;
    // runOutsideMailbox's steps, written out: most messages of the hot path come through here,
    // and two closures per message are garbage the collector would pay for.
    entry.running = true;
    try {
      // A promise here would let the actor's next message start beside it: a broken promise of handlesAtOnce.
      if (isPromise(behaviour.handle(state, message, key))) throw new Error(`${this.kind} said it handles this at once, then did not`);
    } catch (error) {
      behaviour.answerCrash(message, error, key);
      this.crashedOutsideMailbox(key, entry, error);
    } finally {
      entry.running = false;
    }
    // Unless it crashed (and is out of the directory already).
    if (this.entries.get(key) === entry && (entry.evicting || behaviour.disposable?.(state))) this.stopIfIdle(key, entry);
    return true;
  }

  /** Nothing of the actor is queued, being handled or waiting for its supervisor: it may run something now. */
  private betweenMessages(entry: Entry<Msg, State>): boolean {
    return entry.mail === 0 && !entry.running && !entry.faulted && entry.state !== undefined;
  }

  /**
   * Runs `work` as what the actor is handling now, outside its mailbox. A throw stops the actor
   * as a crash would (its next message starts it afresh from the store).
   */
  private runOutsideMailbox(key: string, entry: Entry<Msg, State>, work: () => boolean): boolean {
    entry.running = true;
    try {
      return work();
    } catch (error) {
      this.crashedOutsideMailbox(key, entry, error);
      return true;
    } finally {
      entry.running = false;
    }
  }

  private crashedOutsideMailbox(key: string, entry: Entry<Msg, State>, error: unknown): void {
    this.log.error({ err: error, kind: this.kind, key }, "actor failed handling a message outside its mailbox; stopping it");
    this.events.restart(this.kind);
    if (this.entries.get(key) === entry) this.entries.delete(key);
    stop(entry.ref);
    this.settleIdle();
  }

  /**
   * Delivers only to an actor that is live now. Users with a connected device always are;
   * the others recover from the store when they connect, so waking them would be waste.
   */
  tellIfActive(key: string, message: Msg): boolean {
    const entry = this.entries.get(key);
    if (!entry || this.stopped) {
      if (!this.stopped) this.behaviour.missed?.(message, key);
      return false;
    }
    this.post(key, entry, message);
    return true;
  }

  /**
   * Runs `work` on the state of `key`'s live actor now, if the actor is between messages
   * (nothing queued or being handled, not recovering from a crash) and `work` accepts that
   * state; false otherwise, and the caller mails its message instead. For outcomes whose
   * place in the mailbox does not matter, such as a store write that settled: it saves a
   * dispatch and a turn of latency, and the actor still does one thing at a time, because
   * `work` is synchronous and nothing else of the actor is running. Should `work` throw, the
   * actor is stopped like a crashed one: its next message starts it afresh from the store.
   */
  runIfIdle(key: string, work: (state: State) => boolean): boolean {
    const entry = this.entries.get(key);
    const state = entry?.state;
    if (!entry || this.stopped || !this.betweenMessages(entry) || state === undefined) return false;
    return this.runOutsideMailbox(key, entry, () => work(state));
  }

  /**
   * Keeps the actor of `key` alive while `work` it started (a store write, a timer) is
   * pending, and lets it go once `work` settles, however it settles: each call holds once
   * and releases once. The hold is on the actor's current incarnation; a key with no live
   * actor is not held (nothing to keep alive).
   */
  track(key: string, work: Promise<unknown>): void {
    const release = this.hold(key);
    work.then(release, release);
  }

  /**
   * `track` for work that reports by callback: the actor of `key` is held until the returned
   * function is called (once; later calls do nothing).
   */
  hold(key: string): () => void {
    const entry = this.entries.get(key);
    if (!entry) return NOTHING_HELD;
    entry.pending += 1;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.release(key, entry);
    };
  }

  private release(key: string, entry: Entry<Msg, State>): void {
    entry.pending -= 1;
    entry.lastUsed = Date.now();
    if (entry.evicting || (entry.state !== undefined && this.behaviour.disposable?.(entry.state))) this.stopIfIdle(key, entry);
    this.settleIdle();
  }

  private settleIdle(): void {
    if (this.idleWaiters.length === 0 || this.busy()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** The keys of the live actors, for hand-off when the ring changes. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * Stops the actor of `key` once it has nothing queued or in flight. Its state is in the
   * store; the key's new owner activates it from there.
   */
  evict(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.evicting = true;
    this.stopIfIdle(key, entry);
  }

  private stopIfIdle(key: string, entry: Entry<Msg, State>): void {
    if (entry.pending > 0 || this.entries.get(key) !== entry) return;
    this.entries.delete(key);
    stop(entry.ref);
  }

  stopAll(): void {
    this.stopped = true;
    clearInterval(this.sweeper);
    for (const entry of this.entries.values()) stop(entry.ref);
    this.entries.clear();
    stop(this.supervisor);
    this.settleIdle();
  }

  private activate(key: string): Entry<Msg, State> {
    const entry: Entry<Msg, State> = {
      ref: undefined as unknown as Ref<Msg>,
      state: undefined,
      pending: 0,
      mail: 0,
      faulted: false,
      lastUsed: Date.now(),
      crashes: [],
      evicting: false,
      running: false,
    };
    const behaviour = this.behaviour;
    this.nextName += 1;
    entry.ref = spawn(
      this.supervisor,
      // Not async: a handler that finishes synchronously (most of the hot path) costs no
      // promise here; nact awaits whatever comes back either way.
      (state: State, message: Msg): State | Promise<State> => {
        let next: State | Promise<State>;
        try {
          next = behaviour.handle(state, message, key);
        } catch (error) {
          this.handled(key, entry, undefined);
          throw error;
        }
        if (!isPromise(next)) return this.handled(key, entry, next);
        return next.then(
          (settled) => this.handled(key, entry, settled),
          (error: unknown) => {
            this.handled(key, entry, undefined);
            throw error;
          },
        );
      },
      `a${this.nextName}`,
      {
        initialStateFunc: () => {
          entry.faulted = false;
          return (entry.state = behaviour.initialState(key));
        },
        onCrash: (message, error, ctx) => this.onCrash(key, entry, message as Msg, error, ctx),
      },
    );
    this.entries.set(key, entry);
    return entry;
  }

  /** A message was handled (`next` is the new state), or handling it threw (`next` undefined). */
  private handled(key: string, entry: Entry<Msg, State>, next: State | undefined): State {
    if (next === undefined) entry.faulted = true;
    else entry.state = next;
    entry.pending -= 1;
    entry.mail -= 1;
    if (entry.evicting || (next !== undefined && this.behaviour.disposable?.(next))) this.stopIfIdle(key, entry);
    this.settleIdle();
    return next as State;
  }

  /**
   * OTP's restart intensity: restart with fresh state (reloaded from the store) unless the
   * actor crashed more than `maxRestarts` times within `withinMs`; then it is stopped, its
   * queued mail handed to a fresh incarnation, and the escalation counted and logged.
   */
  private onCrash(key: string, entry: Entry<Msg, State>, message: Msg, error: unknown, ctx: SupervisionContext<Msg, Ref<never>>): symbol {
    const now = Date.now();
    entry.crashes = entry.crashes.filter((at) => now - at < this.policy.withinMs);
    entry.crashes.push(now);
    this.behaviour.answerCrash(message, error, key);
    if (entry.crashes.length <= this.policy.maxRestarts) {
      this.log.error({ err: error, kind: this.kind, key, restarts: entry.crashes.length }, "actor crashed, restarting");
      this.events.restart(this.kind);
      return ctx.reset as symbol;
    }
    this.log.error({ err: error, kind: this.kind, key, restarts: entry.crashes.length }, "actor crashed too often, escalating");
    this.events.escalate(this.kind);
    if (this.entries.get(key) === entry) this.entries.delete(key);
    const queued = (ctx.mailbox as unknown as QueuedMail<Msg>[]).map((mail) => mail.message);
    for (const mail of queued) this.tell(key, mail);
    // The stopped incarnation's count no longer counts: it may have been all that was busy.
    this.settleIdle();
    return ctx.stop as symbol;
  }

  private passivateIdle(): void {
    const cutoff = Date.now() - this.policy.idleMs;
    for (const [key, entry] of this.entries) {
      if (entry.pending === 0 && entry.lastUsed < cutoff && !(entry.state && this.behaviour.keepAlive?.(entry.state))) {
        this.entries.delete(key);
        stop(entry.ref);
      }
    }
  }
}
