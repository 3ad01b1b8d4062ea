import { Packr } from "msgpackr";
import type { MessagePatch, StoredMessage } from "../messages.ts";

/** A batch as the chat head keeps it between claiming its seqs and writing its rows. */
export interface PendingBatch {
  chat: string;
  messages: StoredMessage[];
  /** Only patches of messages known to be stored. */
  patches: MessagePatch[];
  notify: string[];
}

// Standard MessagePack, absent fields as nil: the rows code reads null and undefined alike.
const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true });

export function packPending(batch: PendingBatch): Buffer {
  return packr.pack(batch);
}

/** undefined for anything that is not a batch this code wrote. */
export function unpackPending(value: unknown): PendingBatch | undefined {
  if (!(value instanceof Uint8Array) || value.byteLength === 0) return undefined;
  const decoded: unknown = packr.unpack(value);
  if (typeof decoded !== "object" || decoded === null) return undefined;
  const batch = decoded as Partial<PendingBatch>;
  if (typeof batch.chat !== "string" || !Array.isArray(batch.messages) || !Array.isArray(batch.patches) || !Array.isArray(batch.notify)) {
    return undefined;
  }
  return batch as PendingBatch;
}

/**
 * What identifies one batch, so its own retry is told from another writer's batch at the same
 * seqs: the seq range and the first message's sender, idempotency key and time.
 */
export function claimOf(first: StoredMessage, last: StoredMessage): string {
  return JSON.stringify([first.seq, last.seq, first.from, first.cid, first.ts]);
}
