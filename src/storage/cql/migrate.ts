import cassandra, { type Client, type QueryOptions } from "cassandra-driver";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Logger } from "../../util/logger.ts";
import { splitCqlStatements } from "./cql-script.ts";
import { toStorageError } from "./errors.ts";

/** A keyspace's replication map, e.g. `{ class: "NetworkTopologyStrategy", dc1: 3 }`. */
export interface Replication {
  readonly class: string;
  readonly [option: string]: string | number;
}

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly cql: string;
  readonly checksum: string;
}

/** An applied migration's file changed: the database and the code disagree on the schema. */
export class MigrationChecksumError extends Error {
  override readonly name = "MigrationChecksumError";
}

const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations/", import.meta.url));
const MIGRATION_FILE = /^(\d+)_([a-z0-9_]+)\.cql$/;
// Unquoted CQL keyspace names: case-insensitive, so only lower case is accepted here.
const KEYSPACE_NAME = /^[a-z][a-z0-9_]{0,47}$/;

const CREATE_VERSIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version int PRIMARY KEY,
  name text,
  checksum text,
  applied_at timestamp
)`;

// The version table is read and written like the stores' data, so a migrator sees what another
// one recorded. (Schema statements themselves ignore consistency.)
const BOOKKEEPING: QueryOptions = { prepare: true, consistency: cassandra.types.consistencies.localQuorum, readTimeout: 60_000 };
// A schema change is answered only once the coordinator has applied it and the driver has seen
// the cluster agree on it: on a loaded cluster (or a busy test machine) that takes far longer
// than a data request, and a client-side timeout leaves the change applied anyway. Migrations
// are rare and idempotent, so they wait this long rather than the node's request timeout.
const SCHEMA_CHANGE: QueryOptions = { readTimeout: 60_000 };

/** The versioned CQL files in migrations/, ascending: `NNN_name.cql`. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir).flatMap((file): Migration[] => {
    const match = MIGRATION_FILE.exec(file);
    if (!match?.[1] || !match[2]) return [];
    const cql = readFileSync(`${dir}/${file}`, "utf8");
    const checksum = createHash("sha256").update(cql).digest("hex");
    return [{ version: Number(match[1]), name: match[2], cql, checksum }];
  });
  migrations.sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]?.version === migrations[i - 1]?.version) {
      throw new Error(`two migrations with version ${migrations[i]?.version} in ${dir}`);
    }
  }
  return migrations;
}

/**
 * Creates `keyspace` if missing, then applies the migrations it has not recorded yet, in order,
 * and records each in `schema_migrations`. Leaves `client` using `keyspace` (a CQL USE), which is
 * how the migration files' unqualified names resolve. Returns the versions applied by this call.
 *
 * Migration statements must be idempotent (IF NOT EXISTS): two processes starting at once can
 * both apply a version before either records it. Concurrent schema changes from many clients are
 * still best avoided on Cassandra; run one migrator per deploy where that matters.
 */
export async function migrate(
  client: Client,
  keyspace: string,
  replication: Replication,
  logger?: Logger,
  migrations: readonly Migration[] = loadMigrations(),
): Promise<number[]> {
  if (!KEYSPACE_NAME.test(keyspace)) {
    throw new Error(`keyspace name ${JSON.stringify(keyspace)} must match ${KEYSPACE_NAME}`);
  }
  try {
    await client.execute(`CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ${replicationLiteral(replication)}`, [], SCHEMA_CHANGE);
    await client.execute(`USE ${keyspace}`);
    await client.execute(CREATE_VERSIONS_TABLE, [], SCHEMA_CHANGE);
    const applied = await appliedChecksums(client);
    const appliedNow: number[] = [];
    for (const migration of migrations) {
      const recorded = applied.get(migration.version);
      if (recorded !== undefined) {
        if (recorded !== migration.checksum) {
          throw new MigrationChecksumError(
            `migration ${migration.version}_${migration.name} changed after it was applied to ${keyspace}; add a new migration instead`,
          );
        }
        continue;
      }
      for (const statement of splitCqlStatements(migration.cql)) await applyStatement(client, keyspace, statement);
      await client.execute(
        "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, toTimestamp(now()))",
        [migration.version, migration.name, migration.checksum],
        BOOKKEEPING,
      );
      appliedNow.push(migration.version);
      logger?.info({ keyspace, version: migration.version, migration: migration.name }, "cql migration applied");
    }
    return appliedNow;
  } catch (error) {
    throw toStorageError("migrate", error);
  }
}

// `ALTER TABLE t ADD c type`: one column per statement, see migrations/002.
const ADD_COLUMN = /^ALTER\s+TABLE\s+(\w+)\s+ADD\s+(\w+)\s/i;

/**
 * Runs one migration statement. CREATE statements say IF NOT EXISTS; an ADD of a column that
 * is already there (a re-run after a partial apply, or two migrators at once) is taken as done,
 * judged by the schema tables rather than the server's error text.
 */
async function applyStatement(client: Client, keyspace: string, statement: string): Promise<void> {
  try {
    await client.execute(statement, [], SCHEMA_CHANGE);
  } catch (error) {
    const added = ADD_COLUMN.exec(statement);
    if (!added?.[1] || !added[2] || !(error instanceof cassandra.errors.ResponseError)) throw error;
    const existing = await client.execute(
      "SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ? AND column_name = ?",
      [keyspace, added[1].toLowerCase(), added[2].toLowerCase()],
      { prepare: true },
    );
    if (existing.rowLength === 0) throw error;
  }
}

/** The keyspace's recorded migrations and the code's disagree: `router db migrate` is due. */
export class SchemaNotReadyError extends Error {
  override readonly name = "SchemaNotReadyError";
}

/**
 * For nodes that do not migrate at start: switches `client` to `keyspace` and checks that every
 * migration this build has was applied, unchanged. Rejects with SchemaNotReadyError otherwise.
 */
export async function verifySchema(
  client: Client,
  keyspace: string,
  migrations: readonly Migration[] = loadMigrations(),
): Promise<void> {
  if (!KEYSPACE_NAME.test(keyspace)) {
    throw new Error(`keyspace name ${JSON.stringify(keyspace)} must match ${KEYSPACE_NAME}`);
  }
  let applied: Map<number, string>;
  try {
    const found = await client.execute("SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?", [keyspace], {
      prepare: true,
    });
    if (found.rowLength === 0) {
      throw new SchemaNotReadyError(`keyspace ${keyspace} does not exist: run \`router db migrate\` first`);
    }
    await client.execute(`USE ${keyspace}`);
    const tables = await client.execute(
      "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = 'schema_migrations'",
      [keyspace],
      { prepare: true },
    );
    if (tables.rowLength === 0) {
      throw new SchemaNotReadyError(`keyspace ${keyspace} has no schema_migrations table: run \`router db migrate\` first`);
    }
    applied = await appliedChecksums(client);
  } catch (error) {
    throw error instanceof SchemaNotReadyError ? error : toStorageError("verifySchema", error);
  }
  const missing = migrations.filter((migration) => !applied.has(migration.version));
  if (missing.length > 0) {
    const names = missing.map((migration) => `${migration.version}_${migration.name}`).join(", ");
    throw new SchemaNotReadyError(`keyspace ${keyspace} lacks migrations ${names}: run \`router db migrate\` first`);
  }
  for (const migration of migrations) {
    if (applied.get(migration.version) !== migration.checksum) {
      throw new MigrationChecksumError(
        `migration ${migration.version}_${migration.name} differs from the one applied to ${keyspace}; the build and the database disagree`,
      );
    }
  }
}

async function appliedChecksums(client: Client): Promise<Map<number, string>> {
  const result = await client.execute("SELECT version, checksum FROM schema_migrations", [], BOOKKEEPING);
  const applied = new Map<number, string>();
  for (const row of result.rows) {
    const version: unknown = row.get("version");
    const checksum: unknown = row.get("checksum");
    if (typeof version === "number" && typeof checksum === "string") applied.set(version, checksum);
  }
  return applied;
}

/** `{'class': 'NetworkTopologyStrategy', 'dc1': '3'}`: CQL map literal, quotes escaped. */
export function replicationLiteral(replication: Replication): string {
  const entries = Object.entries(replication).map(([key, value]) => `${quote(key)}: ${quote(String(value))}`);
  return `{${entries.join(", ")}}`;
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
