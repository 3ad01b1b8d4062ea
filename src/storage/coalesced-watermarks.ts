/**
 * Cursor and receipt-mark writes, coalesced: the latest value per (user, device, chat) and per
 * (chat, user) is written once per short window instead of once per ack. A device acking
 * every message of a busy chat costs one write a window, and the writes of one window reach
 * the store together (on LMDB, one transaction of the no-sync environment).
 *
 * Durability: these are watermarks, not messages. A crash loses at most the last window of
 * them, and the only effect is that devices are sent those messages again from their older
 * cursors (delivery is at-least-once and deduplicated by (chat, seq)) and receipts lag until
 * the next ack. A clean stop flushes them (`Stores.close`). Reads on this node see the
 * pending values, so the single writer of each key never reads back an older one.
 */
import type { Clock, Timer } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import type { CursorStore, CursorWrite } from "./cursors.ts";
import type { MarksWrite, MemberMarks, ReceiptStore } from "./receipts.ts";
import type { Stores } from "./stores.ts";

export interface CoalescingOptions {
  /** How long a value may wait before it is written; 0 writes every value at once. */
  windowMs: number;
  clock: Clock;
  log: Logger;
}

/** Pending values of one group of keys (one device's cursors, one chat's marks). */
export interface Group<Meta, Value> {
  meta: Meta;
  values: Map<string, Value>;
}

/** One window's values, by group: what the store is handed to write at once. */
export type WriteWindow<Meta, Value> = ReadonlyMap<string, Group<Meta, Value>>;

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * The latest value per (group, item), until written. `merge` keeps values growing whatever
 * order they come in; values being written stay readable until their write settles.
 */
export class WriteCoalescer<Meta, Value> {
  private pending = new Map<string, Group<Meta, Value>>();
  /** Windows handed to the store and not yet settled, oldest first. */
  private readonly writing = new Set<Map<string, Group<Meta, Value>>>();
  private timer: Timer | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly options: CoalescingOptions,
    private readonly what: string,
    private readonly merge: (older: Value, newer: Value) => Value,
    /** Writes one window; a rejection drops it (logged). */
    private readonly write: (window: WriteWindow<Meta, Value>) => Promise<void>,
  ) {}

  put(groupKey: string, meta: Meta, item: string, value: Value): void {
    let group = this.pending.get(groupKey);
    if (!group) this.pending.set(groupKey, (group = { meta, values: new Map() }));
    const older = group.values.get(item);
    group.values.set(item, older === undefined ? value : this.merge(older, value));
    if (this.options.windowMs <= 0) this.flushNow();
    else this.timer ??= this.options.clock.setTimeout(() => this.flushNow(), this.options.windowMs);
  }

  /** `values` with every value of `groupKey` not yet written merged over it. */
  overlay(groupKey: string, values: Map<string, Value>): Map<string, Value> {
    for (const window of [...this.writing, this.pending]) {
      for (const [item, value] of window.get(groupKey)?.values ?? []) {
        const stored = values.get(item);
        values.set(item, stored === undefined ? value : this.merge(stored, value));
      }
    }
    return values;
  }

  /** Values waiting for their window (tests). */
  get waiting(): number {
    let count = 0;
    for (const group of this.pending.values()) count += group.values.size;
    return count;
  }

  /** Writes everything pending now and resolves once every write begun so far has settled. */
  async flush(): Promise<void> {
    this.flushNow();
    await Promise.all([...this.inFlight]);
  }

  private flushNow(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const window = this.pending;
    this.pending = new Map();
    this.writing.add(window);
    const settled = this.write(window)
      .catch((error: unknown) => this.failed(error))
      .then(() => {
        this.writing.delete(window);
        this.inFlight.delete(settled);
      });
    this.inFlight.add(settled);
  }

  private failed(error: unknown): void {
    // The window is dropped, not retried: a lost watermark only means a resend (cursors) or a
    // late receipt (marks), and the next ack writes a newer one anyway.
    this.options.log.warn({ err: error, what: this.what }, "watermark write failed");
  }
}

function later(older: number, newer: number): number {
  return Math.max(older, newer);
}

function laterMarks(older: MemberMarks, newer: MemberMarks): MemberMarks {
  if (newer.delivered >= older.delivered && newer.read >= older.read) return newer;
  return { delivered: Math.max(older.delivered, newer.delivered), read: Math.max(older.read, newer.read) };
}

type Device = { user: string; device: string };

/** One window of cursors, in one call when the store takes many at once. */
function writeCursors(store: CursorStore, window: WriteWindow<Device, number>): Promise<unknown> {
  const writes: CursorWrite[] = [];
  for (const { meta, values } of window.values()) for (const [chat, seq] of values) writes.push({ user: meta.user, device: meta.device, chat, seq });
  if (store.setCursors) return store.setCursors(writes);
  return Promise.all(writes.map(({ user, device, chat, seq }) => store.setCursor(user, device, chat, seq)));
}

/** One window of marks, in one call when the store takes many at once. */
function writeMarks(store: ReceiptStore, window: WriteWindow<string, MemberMarks>): Promise<unknown> {
  const writes: MarksWrite[] = [];
  for (const { meta: chat, values } of window.values()) for (const [user, marks] of values) writes.push({ chat, user, marks });
  if (store.setManyMarks) return store.setManyMarks(writes);
  return Promise.all(writes.map(({ chat, user, marks }) => store.setMarks(chat, user, marks)));
}

export class CoalescedCursorStore implements CursorStore {
  private readonly writes: WriteCoalescer<Device, number>;

  constructor(
    private readonly inner: CursorStore,
    options: CoalescingOptions,
  ) {
    this.writes = new WriteCoalescer(options, "cursor", later, async (window) => void (await writeCursors(inner, window)));
  }

  async cursors(user: string, device: string): Promise<Map<string, number>> {
    return this.writes.overlay(deviceKey(user, device), await this.inner.cursors(user, device));
  }

  /** Resolves at once: the write happens within the window, and a failure is logged there. */
  setCursor(user: string, device: string, chat: string, seq: number): Promise<void> {
    this.setCursorSoon(user, device, chat, seq);
    return RESOLVED;
  }

  setCursorSoon(user: string, device: string, chat: string, seq: number): void {
    this.writes.put(deviceKey(user, device), { user, device }, chat, seq);
  }

  flush(): Promise<void> {
    return this.writes.flush();
  }
}

export class CoalescedReceiptStore implements ReceiptStore {
  private readonly writes: WriteCoalescer<string, MemberMarks>;

  constructor(
    private readonly inner: ReceiptStore,
    options: CoalescingOptions,
  ) {
    this.writes = new WriteCoalescer(options, "receipt marks", laterMarks, async (window) => void (await writeMarks(inner, window)));
  }

  async marks(chat: string): Promise<Map<string, MemberMarks>> {
    return this.writes.overlay(chat, await this.inner.marks(chat));
  }

  /** Resolves at once: the write happens within the window, and a failure is logged there. */
  setMarks(chat: string, user: string, marks: MemberMarks): Promise<void> {
    this.setMarksSoon(chat, user, marks);
    return RESOLVED;
  }

  setMarksSoon(chat: string, user: string, marks: MemberMarks): void {
    this.writes.put(chat, chat, user, marks);
  }

  flush(): Promise<void> {
    return this.writes.flush();
  }
}

// Ids never hold a NUL (frames validate them), so the pair is unambiguous.
function deviceKey(user: string, device: string): string {
  return `${user}\u0000${device}`;
}

/**
 * `stores` (a plain object of stores, as every backend builds it) with cursor and mark writes
 * coalesced; closing it writes what is pending first.
 */
export function withCoalescedWatermarks(stores: Stores, options: CoalescingOptions): Stores {
  const cursors = new CoalescedCursorStore(stores.cursors, options);
  const receipts = new CoalescedReceiptStore(stores.receipts, options);
  return {
    ...stores,
    cursors,
    receipts,
    close: async () => {
      await Promise.all([cursors.flush(), receipts.flush()]);
      await stores.close();
    },
  };
}
