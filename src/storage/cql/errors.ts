import cassandra from "cassandra-driver";
import { StorageUnavailableError } from "../errors.ts";

const { errors, types } = cassandra;
const codes = types.responseErrorCodes;

// Server answers that say "not now" rather than "never": the coordinator could not reach
// enough replicas, a replica timed out or failed, or the node is overloaded or starting.
const TRANSIENT_RESPONSE_CODES: ReadonlySet<number> = new Set([
  codes.unavailableException,
  codes.overloaded,
  codes.isBootstrapping,
  codes.truncateError,
  codes.writeTimeout,
  codes.readTimeout,
  codes.readFailure,
  codes.writeFailure,
]);

/** True when retrying later may succeed: the cluster, not the request, is the problem. */
export function isTransientCqlError(error: unknown): boolean {
  if (error instanceof errors.NoHostAvailableError) return true;
  if (error instanceof errors.OperationTimedOutError) return true;
  if (error instanceof errors.BusyConnectionError) return true;
  if (error instanceof errors.ResponseError) return TRANSIENT_RESPONSE_CODES.has(error.code);
  return false;
}

/**
 * What a store operation rejects with: StorageUnavailableError for transient failures (callers
 * may retry), the driver's error unchanged otherwise (a bad query or schema is a bug to see).
 */
export function toStorageError(operation: string, error: unknown): unknown {
  if (!isTransientCqlError(error)) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new StorageUnavailableError(`cql ${operation} failed: ${reason}`, { cause: error });
}
