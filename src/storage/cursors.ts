/**
 * What each device has received. One writer per user: that user's UserActor, so
 * implementations may apply "advance to max" without compare-and-set.
 */

/** One cursor to store. */
export interface CursorWrite {
  user: string;
  device: string;
  chat: string;
  seq: number;
}

/** What one device has received: the highest contiguous seq it acked, per chat. */
export interface CursorStore {
  cursors(user: string, device: string): Promise<Map<string, number>>;
  /** Single writer per user: the caller only ever passes a higher seq than the stored one. */
  setCursor(user: string, device: string, chat: string, seq: number): Promise<void>;
  /**
   * Many cursors at once, as cheaply as the backend can (one LMDB transaction). Optional: the
   * coalescer (src/storage/coalesced-watermarks.ts) falls back to one `setCursor` each.
   */
  setCursors?(writes: readonly CursorWrite[]): Promise<void>;
  /**
   * `setCursor` for a store that writes within a short window and logs a failure itself (the
   * coalescer): nothing to wait for or catch, so an ack makes no promise. Optional.
   */
  setCursorSoon?(user: string, device: string, chat: string, seq: number): void;
}
