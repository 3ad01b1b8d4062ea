import cassandra from "cassandra-driver";
import type { MediaRef } from "../../protocol/frames.ts";
import type { Row } from "./session.ts";

/**
 * Typed reads of row columns: the driver types every value as `any`. A column of the wrong
 * type means the schema and the code disagree, so it throws rather than guessing.
 */

/** A bigint column (the driver returns a Long) as a JS number; seqs and ms timestamps fit. */
export function numberColumn(row: Row, name: string): number {
  const value: unknown = row.get(name);
  if (value instanceof cassandra.types.Long) return value.toNumber();
  if (typeof value === "number") return value;
  throw new TypeError(`cql column ${name} is not a number: ${String(value)}`);
}

export function textColumn(row: Row, name: string): string {
  const value: unknown = row.get(name);
  if (typeof value === "string") return value;
  throw new TypeError(`cql column ${name} is not text: ${String(value)}`);
}

export function booleanColumn(row: Row, name: string): boolean {
  const value: unknown = row.get(name);
  if (typeof value === "boolean") return value;
  throw new TypeError(`cql column ${name} is not a boolean: ${String(value)}`);
}

/** Bytes as the driver binds a blob: a Buffer over the same memory, not a copy. */
export function blobParam(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A blob column as a Uint8Array; the driver copies blobs out of its socket buffers. */
export function bytesColumn(row: Row, name: string): Uint8Array {
  const value: unknown = row.get(name);
  if (value instanceof Uint8Array) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`cql column ${name} is not a blob`);
}

/**
 * Columns added after rows were already written (migrations/002): null in older rows and when
 * never set, which reads as "absent".
 */
export function optionalNumberColumn(row: Row, name: string): number | undefined {
  const value: unknown = row.get(name);
  return value === null || value === undefined ? undefined : numberColumn(row, name);
}

export function optionalTextColumn(row: Row, name: string): string | undefined {
  const value: unknown = row.get(name);
  return value === null || value === undefined ? undefined : textColumn(row, name);
}

export function optionalBooleanColumn(row: Row, name: string): boolean | undefined {
  const value: unknown = row.get(name);
  return value === null || value === undefined ? undefined : booleanColumn(row, name);
}

/** A `frozen<map<text, text>>` column; the driver decodes maps to plain objects. */
export function optionalTextMapColumn(row: Row, name: string): Record<string, string> | undefined {
  const value: unknown = row.get(name);
  if (value === null || value === undefined) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw new TypeError(`cql column ${name} is not a map`);
  const out: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== "string") throw new TypeError(`cql column ${name} has a non-text value at ${key}`);
    out[key] = entry;
  }
  return out;
}

/** A `frozen<list<text>>` column; an empty list reads as null from some servers, so it is []. */
export function textListColumn(row: Row, name: string): string[] {
  const value: unknown = row.get(name);
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === "string")) {
    throw new TypeError(`cql column ${name} is not a list of text`);
  }
  return value;
}

/** A `frozen<map<text, bigint>>` column as numbers; null (or empty, on some servers) is {}. */
export function numberMapColumn(row: Row, name: string): Record<string, number> {
  const value: unknown = row.get(name);
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new TypeError(`cql column ${name} is not a map`);
  const out: Record<string, number> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (entry instanceof cassandra.types.Long) out[key] = entry.toNumber();
    else if (typeof entry === "number") out[key] = entry;
    else throw new TypeError(`cql column ${name} has a non-number value at ${key}`);
  }
  return out;
}

export function optionalBytesColumn(row: Row, name: string): Uint8Array | undefined {
  const value: unknown = row.get(name);
  return value === null || value === undefined ? undefined : bytesColumn(row, name);
}

/** A uuid column as the driver's Uuid, which binds back as it is. */
export function uuidColumn(row: Row, name: string): cassandra.types.Uuid {
  const value: unknown = row.get(name);
  if (value instanceof cassandra.types.Uuid) return value;
  throw new TypeError(`cql column ${name} is not a uuid: ${String(value)}`);
}

/** A `frozen<media_ref>` column (migrations/003); the driver decodes a UDT to a plain object. */
export function optionalMediaColumn(row: Row, name: string): MediaRef | undefined {
  const value: unknown = row.get(name);
  if (value === null || value === undefined) return undefined;
  if (typeof value !== "object") throw new TypeError(`cql column ${name} is not a media_ref`);
  const fields = value as Record<string, unknown>;
  const { id, mime, sha256, thumb } = fields;
  const size = fields["size"] instanceof cassandra.types.Long ? fields["size"].toNumber() : fields["size"];
  if (typeof id !== "string" || typeof mime !== "string" || typeof sha256 !== "string" || typeof size !== "number") {
    throw new TypeError(`cql column ${name} is not a complete media_ref`);
  }
  const media: MediaRef = { id, mime, size, sha256 };
  if (thumb instanceof Uint8Array) media.thumb = new Uint8Array(thumb.buffer, thumb.byteOffset, thumb.byteLength);
  else if (thumb !== null && thumb !== undefined) throw new TypeError(`cql column ${name} has a thumb that is not a blob`);
  return media;
}
