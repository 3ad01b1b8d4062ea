import type { RootDatabase } from "lmdb";

/** What the committer uses of an LMDB environment. */
export type TransactionRunner = Pick<RootDatabase, "transaction">;

/** How an item's outcome is told: no error once its transaction is durable, else why it was refused. */
export type Settled = (error?: unknown) => void;

interface Waiting<T> {
  readonly item: T;
  readonly settled: Settled;
  /** What applying this item threw, if anything: it alone is refused, the others commit. */
  refused: unknown;
}

/**
 * Group commit across callers: every item handed in before LMDB runs the pending write
 * transaction is applied in that one transaction, so one commit (one fsync) makes a whole
 * event-loop turn's writes durable (more than a turn's, while the previous commit is still
 * being flushed), where a transaction per caller would cost each its own queueing and sync
 * with the write thread.
 *
 * Each caller's promise settles only once the shared transaction is durable. `apply` runs
 * inside the transaction; if it throws, that item is refused with the error and the others
 * still commit, so `apply` must decide before it writes (check first, then put).
 */
export class TurnCommitter<T> {
  private gathering: Waiting<T>[] | undefined;

  constructor(
    private readonly root: TransactionRunner,
    private readonly apply: (item: T) => void,
    /** Told when a shared transaction failed as a whole (nothing of it was written). */
    private readonly onFailed: () => void = () => {},
    /** What a caller is told instead of the error itself (the store's typed errors). */
    private readonly describe: (error: unknown) => unknown = (error) => error,
  ) {}

  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => this.submitThen(item, (error) => (error === undefined ? resolve() : reject(error))));
  }

  /** `submit`, told by a callback: the hot path's appends make no promise per item. */
  submitThen(item: T, settled: Settled): void {
    const waiting: Waiting<T> = { item, settled, refused: undefined };
    if (this.gathering) {
      this.gathering.push(waiting);
      return;
    }
    const batch = [waiting];
    this.gathering = batch;
    this.commit(batch);
  }

  private commit(batch: Waiting<T>[]): void {
    this.root
      .transaction(() => {
        // From here on, what is handed in waits for the next transaction.
        if (this.gathering === batch) this.gathering = undefined;
        for (const waiting of batch) {
          try {
            this.apply(waiting.item);
          } catch (error) {
            waiting.refused = error ?? new Error("refused");
          }
        }
      })
      .then(
        () => {
          for (const waiting of batch) settle(waiting, waiting.refused === undefined ? undefined : this.describe(waiting.refused));
        },
        (error: unknown) => {
          if (this.gathering === batch) this.gathering = undefined;
          this.onFailed();
          const described = this.describe(error ?? new Error("write transaction failed"));
          for (const waiting of batch) settle(waiting, described);
        },
      );
  }
}

/** One caller's throw must not keep the others of the transaction from hearing theirs: it is rethrown on its own. */
function settle<T>(waiting: Waiting<T>, error: unknown): void {
  try {
    waiting.settled(error);
  } catch (thrown) {
    queueMicrotask(() => {
      throw thrown;
    });
  }
}
