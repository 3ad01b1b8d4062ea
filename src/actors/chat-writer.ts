import type { ReplyTo } from "../seams.ts";
import { SeqConflictError, StorageUnavailableError } from "../storage/errors.ts";
import type { AppendBatch, MessagePatch, MessageStore, StoredMessage } from "../storage/messages.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";

/** One entry accepted by the writer: its seq is assigned, its write may still be in flight. */
export interface Accepted {
  /** As stored. */
  message: StoredMessage;
  /** As handed to members (an edit carries its new body live, though not in its entry). */
  live: StoredMessage;
  device: string;
  /** Everyone waiting for the `sent` answer: the first request and any retries with the same cid. */
  waiters: ReplyTo[];
  /** Who receives it: the members when it was accepted. */
  audience: readonly string[];
  /** Whose inbox learns of it (every member below the fan-out threshold). */
  notify: readonly string[];
  /**
   * Those of the audience who joined after the message an event is about: they get its
   * position and nothing else (a `skip`), so they learn nothing of what came before them.
   */
  hidden: readonly string[];
  patches: readonly MessagePatch[];
}

export interface WriteBatch {
  readonly id: number;
  readonly items: Accepted[];
  /** Set once a write of this batch failed: its outcome is unknown until a retry succeeds. */
  uncertain: boolean;
  attempts: number;
}

/**
 * The batch each chat is writing, kept outside actor state: a restarted incarnation of the
 * chat's actor must adopt a write still in flight (it may yet land) instead of handing its
 * seqs out again. One per node, shared by every chat.
 */
export class WritesInFlight {
  /**
   * A chat's entry stays when its batch ends and is reused by its next one; ended entries are
   * dropped together every SWEEP_AFTER ends. A Map given and rid of an entry per batch fills
   * its table with deleted slots and rebuilds it every few hundred batches, and V8 keeps an
   * outgrown table's entries (batches, their messages and bodies) alive until a full GC.
   */
  private readonly batches = new Map<string, WriteBatch | undefined>();
  private lastId = 0;
  private ended = 0;

  get(chat: string): WriteBatch | undefined {
    return this.batches.get(chat);
  }

  begin(chat: string, items: Accepted[]): WriteBatch {
    const batch: WriteBatch = { id: ++this.lastId, items, uncertain: false, attempts: 0 };
    this.batches.set(chat, batch);
    return batch;
  }

  end(chat: string): void {
    this.batches.set(chat, undefined);
    this.ended += 1;
    if (this.ended < SWEEP_AFTER) return;
    this.ended = 0;
    for (const [key, batch] of this.batches) if (batch === undefined) this.batches.delete(key);
  }

  /** Chats with an entry, ended or not (tests). */
  get size(): number {
    return this.batches.size;
  }
}

/** Batches ended between two sweeps of WritesInFlight's ended entries. */
export const SWEEP_AFTER = 4096;

/** What a chat's writer needs from the node; one object shared by every chat. */
export interface ChatWriterDeps {
  store: Pick<MessageStore, "append" | "appendThen" | "lastSeq" | "findByCid">;
  clock: Clock;
  log: Logger;
  writes: WritesInFlight;
  /** Messages written per store call at most: bounds the latency one batch adds to the next. */
  maxBatch: number;
  /**
   * Hands a write's outcome to the writer of whichever incarnation of the chat's actor is
   * current then: `durable` at once when the actor is between messages, otherwise `written`
   * through its mailbox.
   */
  report(chat: string, batchId: number, error?: unknown): void;
  /** Keeps the chat's actor alive while `work` runs. */
  hold(chat: string, work: Promise<unknown>): void;
  /** Keeps the chat's actor alive until the returned function is called (work that reports by callback). */
  keep(chat: string): () => void;
  sent(waiter: ReplyTo, chat: string, seq: number, ts: number, cid: string | undefined): void;
  /** A waiter whose entry has no durable seq (yet): it should retry with the same cid. */
  refuse(waiter: ReplyTo): void;
  /** A batch is durable and its waiters answered: deliver it. */
  durable(chat: string, items: readonly Accepted[]): void;
  /** Counts batches refused because another writer had written the chat. */
  onConflict?: () => void;
}

const MAX_QUEUED = 10_000;
/** Entries pending (queued or in flight) past which a retry's lookup uses an index, not a walk. */
const INDEX_FROM = 16;
const RETRY_BASE_MS = 50;
const RETRY_MAX_MS = 2000;

function cidKey(from: string, cid: string): string {
  return `${from}\u0000${cid}`;
}

const NONE: readonly Accepted[] = [];

/** Pending entries hold consecutive seqs (takeSeq), so the one sought is found by its offset. */
function atSeq(items: readonly Accepted[], seq: number): StoredMessage | undefined {
  const first = items[0];
  if (!first) return undefined;
  const message = items[seq - first.message.seq]?.message;
  return message?.seq === seq ? message : undefined;
}

function withCid(items: readonly Accepted[], from: string, cid: string): Accepted | undefined {
  for (const item of items) if (item.message.cid === cid && item.message.from === from) return item;
  return undefined;
}

/** How long to wait before the `attempts`th retry of a failed write. */
export function retryDelay(attempts: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(attempts, 10));
}

/**
 * The single writer of one chat, for one incarnation of its actor: it hands out consecutive
 * seqs (its own count is authoritative; the store only fences another writer), writes them in
 * batches (while one batch is being made durable the next one gathers), answers `sent` only
 * once a batch is durable, then hands the batch on for delivery.
 *
 * A failed write leaves the batch "uncertain": a timed-out write may still land, so the batch
 * is retried with the same seqs and content (idempotent) until it does, and no new seq is
 * handed out meanwhile. A batch the store refuses because another writer took its seqs (two
 * nodes briefly both believed they owned the chat) wrote nothing, so its entries take the
 * next free seqs. Nothing is ever answered `sent` before it is stored, and no seq is ever
 * written with two different entries.
 *
 * Every method runs inside the chat's actor (one at a time); a write's outcome comes back
 * through the actor's mailbox (`deps.report`, then `written`).
 */
export class ChatWriter {
  private chat = "";
  /** Highest seq known durable. */
  lastSeq = 0;
  /** Next seq to assign; above lastSeq while writes are queued or in flight. */
  nextSeq = 1;
  private lastTs = 0;
  private readonly queued: Accepted[] = [];
  /**
   * Accepted but not yet durable, by sender and cid, so a retry joins the first attempt. Made
   * only while more than INDEX_FROM entries are pending: below that a walk of the queue and
   * the batch in flight is cheaper than a key string and a Map entry set and deleted per
   * message (a Map emptied by a delete allocates a new table).
   */
  private index: Map<string, Accepted> | undefined;

  /** `discarded` is told when entries accepted but not yet durable are dropped (caches built on them are stale). */
  constructor(
    private readonly deps: ChatWriterDeps,
    private readonly discarded: () => void = () => {},
  ) {}

  /** Starts from the store's head, adopting the batch a previous incarnation left in flight. */
  async load(chat: string): Promise<void> {
    this.chat = chat;
    this.lastSeq = await this.deps.store.lastSeq(chat);
    this.nextSeq = this.lastSeq + 1;
    const unfinished = this.deps.writes.get(chat);
    if (unfinished) {
      this.nextSeq = Math.max(this.nextSeq, (unfinished.items.at(-1)?.message.seq ?? 0) + 1);
      this.track();
    }
    this.lastTs = this.deps.clock.now();
  }

  /** False while the chat's storage is not taking writes: refuse before changing anything. */
  get writable(): boolean {
    return !this.deps.writes.get(this.chat)?.uncertain;
  }

  /** True when a new entry can be accepted now (writable, and the queue has room). */
  get accepting(): boolean {
    return this.writable && this.queued.length < MAX_QUEUED;
  }

  /** Nothing was ever written or accepted. */
  get empty(): boolean {
    return this.lastSeq === 0 && this.nextSeq === 1;
  }

  /** Whether an entry with this sender and cid is accepted and not yet durable. */
  inFlight(from: string, cid: string): boolean {
    return this.pending(from, cid) !== undefined;
  }

  /** Adds `waiter` to the entry in flight with this cid; false if there is none. */
  join(from: string, cid: string, waiter: ReplyTo): boolean {
    const item = this.pending(from, cid);
    if (!item) return false;
    item.waiters.push(waiter);
    return true;
  }

  /** The seq the next accepted entry takes. */
  takeSeq(): number {
    return this.nextSeq++;
  }

  /** A time for the next entry: monotonic per chat even if the wall clock steps back, so ts order matches seq order. */
  stamp(): number {
    const ts = Math.max(this.deps.clock.now(), this.lastTs);
    this.lastTs = ts;
    return ts;
  }

  /** Queues an entry whose seq came from `takeSeq`, in seq order, and writes it as soon as it can. */
  enqueue(item: Accepted): void {
    this.queued.push(item);
    this.track(item);
    this.writeQueued();
  }

  /** The outcome of the write of batch `batchId`, as reported through the chat's mailbox. */
  async written(batchId: number, error?: unknown): Promise<void> {
    if (error === undefined) {
      this.durable(batchId);
      return;
    }
    const batch = this.deps.writes.get(this.chat);
    if (!batch || batch.id !== batchId) return;
    if (error instanceof SeqConflictError) {
      this.deps.writes.end(this.chat);
      await this.renumberAfterConflict(batch.items);
    } else {
      this.retryLater(batch, error);
    }
  }

  /**
   * Batch `batchId` is durable: answer, hand on, write what queued meanwhile. Synchronous, so
   * the actor may run it between messages without a trip through its mailbox. False when this
   * writer does not know the batch (an incarnation that has not loaded yet adopts it then).
   */
  durable(batchId: number): boolean {
    const batch = this.deps.writes.get(this.chat);
    if (!this.chat || !batch || batch.id !== batchId) return false;
    this.deps.writes.end(this.chat);
    this.onDurable(batch.items);
    this.writeQueued();
    // Few left: the walk finds them again. Half the threshold, so a chat hovering near it
    // does not rebuild its index every batch.
    if (this.index && this.pendingCount() <= INDEX_FROM / 2) this.index = undefined;
    return true;
  }

  /** The entry with this seq as accepted, while it is queued or in flight (not yet readable from the store). */
  pendingAt(seq: number): StoredMessage | undefined {
    return atSeq(this.inFlightItems, seq) ?? atSeq(this.queued, seq);
  }

  /** The entry with this sender and cid that is queued or in flight. */
  private pending(from: string, cid: string): Accepted | undefined {
    if (this.index) return this.index.get(cidKey(from, cid));
    return withCid(this.inFlightItems, from, cid) ?? withCid(this.queued, from, cid);
  }

  /** `item` joined the pending entries (or, with none, a batch in flight was adopted): indexed once there are many. */
  private track(item?: Accepted): void {
    if (this.index) {
      if (item?.message.cid) this.index.set(cidKey(item.message.from, item.message.cid), item);
      return;
    }
    if (this.pendingCount() <= INDEX_FROM) return;
    const index = new Map<string, Accepted>();
    for (const items of [this.inFlightItems, this.queued]) {
      for (const pending of items) if (pending.message.cid) index.set(cidKey(pending.message.from, pending.message.cid), pending);
    }
    this.index = index;
  }

  /** The entries of the chat's batch being written (an earlier incarnation's too), none if no write is in flight. */
  private get inFlightItems(): readonly Accepted[] {
    return this.deps.writes.get(this.chat)?.items ?? NONE;
  }

  private pendingCount(): number {
    return this.inFlightItems.length + this.queued.length;
  }

  /** `item` left the pending entries (durable, refused or answered from the store). */
  private untrack(item: Accepted): void {
    if (this.index && item.message.cid) this.index.delete(cidKey(item.message.from, item.message.cid));
  }

  private writeQueued(): void {
    if (this.queued.length === 0 || this.deps.writes.get(this.chat)) return;
    // Taken out of the queue, never the queue itself handed on with a fresh one in its place: a
    // chat's queue lives between its sends, long enough to reach the old generation, and a dead
    // array there keeps what was last put in it (entries, bodies) alive through every
    // young-generation GC until a full one.
    const items = this.queued.splice(0, this.deps.maxBatch);
    this.startWrite(this.deps.writes.begin(this.chat, items));
  }

  private startWrite(batch: WriteBatch): void {
    const { chat, deps } = this;
    const batchId = batch.id;
    const append = toAppendBatch(chat, batch.items);
    // Held until its outcome is in the actor's mailbox (which holds it from there).
    if (deps.store.appendThen) {
      // A store that reports by callback: no promise per write (one per message in a quiet chat).
      const release = deps.keep(chat);
      deps.store.appendThen(append, (error) => {
        try {
          deps.report(chat, batchId, error);
        } finally {
          release();
        }
      });
      return;
    }
    deps.hold(
      chat,
      deps.store.append(append).then(
        () => deps.report(chat, batchId),
        (error: unknown) => deps.report(chat, batchId, error),
      ),
    );
  }

  private onDurable(items: readonly Accepted[]): void {
    const chat = this.chat;
    this.lastSeq = items.at(-1)?.message.seq ?? this.lastSeq;
    for (const item of items) {
      this.untrack(item);
      const { seq, ts, cid } = item.message;
      for (const waiter of item.waiters) this.deps.sent(waiter, chat, seq, ts, cid || undefined);
    }
    this.deps.durable(chat, items);
  }

  private retryLater(batch: WriteBatch, error: unknown): void {
    batch.attempts += 1;
    const unavailable = error instanceof StorageUnavailableError;
    this.deps.log.warn({ err: error, chat: this.chat, attempts: batch.attempts, unavailable }, "message batch write failed, retrying");
    if (!batch.uncertain) {
      batch.uncertain = true;
      this.refuseUnwritten(batch);
    }
    // Held until the retry has started (the retry then holds the actor itself).
    const retry = new Promise<void>((resolve) => {
      this.deps.clock.setTimeout(() => {
        this.startWrite(batch);
        resolve();
      }, retryDelay(batch.attempts));
    });
    this.deps.hold(this.chat, retry);
  }

  /**
   * Nothing queued behind a failed batch has a durable seq: refuse them now rather than keep
   * clients waiting on storage; their retries come back with the same cid (and join the
   * failed batch's entries, which keep their seqs).
   */
  private refuseUnwritten(batch: WriteBatch): void {
    for (const items of [batch.items, this.queued]) {
      for (const item of items) {
        for (const waiter of item.waiters) this.deps.refuse(waiter);
        item.waiters = [];
      }
    }
    for (const item of this.queued) this.untrack(item);
    this.queued.length = 0;
    this.discarded();
    this.nextSeq = (batch.items.at(-1)?.message.seq ?? this.lastSeq) + 1;
  }

  /**
   * Another writer took the seqs this batch was given. Nothing of it was written, so its
   * entries (and those queued behind it) take the next free seqs; one whose cid reached the
   * other writer is answered with that writer's seq.
   */
  private async renumberAfterConflict(batch: Accepted[]): Promise<void> {
    const { chat, deps } = this;
    deps.onConflict?.();
    deps.log.warn({ chat, firstSeq: batch[0]?.message.seq }, "another writer wrote this chat; renumbering");
    const items = this.queued.length === 0 ? batch : batch.concat(this.queued);
    this.queued.length = 0;
    this.discarded();
    this.lastSeq = await deps.store.lastSeq(chat);
    this.nextSeq = this.lastSeq + 1;
    for (const item of items) {
      const { from, cid } = item.message;
      const first = cid ? await deps.store.findByCid(chat, from, cid) : undefined;
      if (first) {
        this.untrack(item);
        for (const waiter of item.waiters) deps.sent(waiter, chat, first.seq, first.ts, cid);
        continue;
      }
      renumber(item, this.takeSeq(), Math.max(item.message.ts, this.lastTs));
      this.lastTs = item.message.ts;
      this.queued.push(item);
    }
    this.writeQueued();
  }
}

/** Moves a never-written entry to a new place (it is the writer's own, so it changes in place). */
function renumber(item: Accepted, seq: number, ts: number): void {
  item.message.seq = seq;
  item.message.ts = ts;
  item.live.seq = seq;
  item.live.ts = ts;
}

function toAppendBatch(chat: string, items: readonly Accepted[]): AppendBatch {
  const messages: StoredMessage[] = new Array<StoredMessage>(items.length);
  let patches: MessagePatch[] | undefined;
  let notify: readonly string[] = items[0]?.notify ?? [];
  let merged: Set<string> | undefined;
  for (let i = 0; i < items.length; i += 1) {
    const item = items[i]!;
    messages[i] = item.message;
    if (item.patches.length > 0) (patches ??= []).push(...item.patches);
    // Runs of entries share one audience array (see the actor): merge only when it changes.
    if (item.notify !== notify) {
      merged ??= new Set(notify);
      for (const user of item.notify) merged.add(user);
    }
  }
  return { chat, messages, notify: merged ? [...merged] : notify, patches };
}
