/** The errors every store may reject with, whatever its backend. */

/**
 * The chat's log already holds the batch's first seq: another writer (a node that also
 * believed it owned the chat) got there first. Nothing of the batch was written.
 */
export class SeqConflictError extends Error {
  override readonly name = "SeqConflictError";
}

/** The backend could not serve the request right now; the client may retry. */
export class StorageUnavailableError extends Error {
  override readonly name = "StorageUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
