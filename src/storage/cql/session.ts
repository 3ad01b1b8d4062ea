import cassandra, { type Client, type QueryOptions, type types } from "cassandra-driver";
import { toStorageError } from "./errors.ts";

export type Row = types.Row;

export interface Statement {
  query: string;
  params: unknown[];
}

// Every write here sets absolute values (no counters, list appends or LWTs), so the driver
// may retry any of them on another node after a timeout without changing the outcome.
// LOCAL_QUORUM both ways: a read after a write sees it even if one local replica is down.
const QUERY_OPTIONS: QueryOptions = {
  prepare: true,
  isIdempotent: true,
  consistency: cassandra.types.consistencies.localQuorum,
};

const PAGE_SIZE = 1000;

/**
 * The stores' way to the cluster: prepared, idempotent, LOCAL_QUORUM statements, driver errors
 * translated by toStorageError. The driver prepares each distinct query once per host and
 * routes it to a replica of its partition key (token-aware load balancing).
 */
export class CqlSession {
  constructor(private readonly client: Client) {}

  async execute(operation: string, statement: Statement): Promise<void> {
    try {
      await this.client.execute(statement.query, statement.params, QUERY_OPTIONS);
    } catch (error) {
      throw toStorageError(operation, error);
    }
  }

  /**
   * A lightweight transaction (IF ...): Paxos at LOCAL_SERIAL, committed at LOCAL_QUORUM. The
   * row says `[applied]` and, when not, the current values. Retrying one after a timeout is
   * safe only because callers recognise their own earlier success in those values.
   */
  async conditional(operation: string, statement: Statement): Promise<Row[]> {
    try {
      const result = await this.client.execute(statement.query, statement.params, {
        ...QUERY_OPTIONS,
        serialConsistency: cassandra.types.consistencies.localSerial,
      });
      return result.rows;
    } catch (error) {
      throw toStorageError(operation, error);
    }
  }

  /**
   * Several statements of one partition as one lightweight transaction: every statement's
   * conditions must hold for any of them to apply, and all apply in one Paxos round. Rows as
   * for conditional().
   */
  async conditionalBatch(operation: string, statements: readonly Statement[]): Promise<Row[]> {
    return this.batch(operation, statements, { serialConsistency: cassandra.types.consistencies.localSerial });
  }

  /** Every row, following the driver's paging, so a large result never arrives in one frame. */
  async rows(operation: string, statement: Statement): Promise<Row[]> {
    const rows: Row[] = [];
    let pageState: string | undefined;
    try {
      do {
        const options: QueryOptions = { ...QUERY_OPTIONS, fetchSize: PAGE_SIZE };
        if (pageState !== undefined) options.pageState = pageState;
        const result = await this.client.execute(statement.query, statement.params, options);
        rows.push(...result.rows);
        pageState = result.pageState ?? undefined;
      } while (pageState !== undefined);
    } catch (error) {
      throw toStorageError(operation, error);
    }
    return rows;
  }

  /**
   * A LOGGED batch: once the coordinator has it in its batch log, every statement is applied
   * eventually, even across partitions and a coordinator crash. Statements in one partition
   * apply in isolation; across partitions a reader may briefly see part of it.
   */
  async loggedBatch(operation: string, statements: readonly Statement[]): Promise<void> {
    await this.batch(operation, statements, {});
  }

  private async batch(operation: string, statements: readonly Statement[], options: QueryOptions): Promise<Row[]> {
    try {
      const result = await this.client.batch(
        statements.map(({ query, params }) => ({ query, params })),
        { ...QUERY_OPTIONS, logged: true, ...options },
      );
      return result.rows;
    } catch (error) {
      throw toStorageError(operation, error);
    }
  }
}
