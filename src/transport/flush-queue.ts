/** Something with frames waiting to be written. */
export interface Flushable {
  flush(): void;
}

/**
 * The connections with frames waiting, written once per turn of the event loop: one
 * setImmediate for the whole node instead of a microtask per connection. Everything the
 * actors produced in one turn (messages from a group commit, receipts, answers) reaches each
 * socket as one corked write, however many actors wrote to it.
 *
 * setImmediate runs right after the poll phase in which uWS delivered frames and the store's
 * commits settled, so this adds no turn of latency over a microtask; it only waits for the
 * rest of the turn's work, which is the point.
 */
export class FlushQueue {
  private dirty: Flushable[] = [];
  private scheduled = false;

  /** `connection` has frames waiting; the caller adds it once until it is flushed. */
  add(connection: Flushable): void {
    this.dirty.push(connection);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flushAll);
  }

  private readonly flushAll = (): void => {
    this.scheduled = false;
    const dirty = this.dirty;
    this.dirty = [];
    for (const connection of dirty) connection.flush();
  };
}
