/**
 * Prints the machine-readable protocol: frames.schema.json (JSON Schema 2020-12 of every
 * frame) and vectors.json (sample frames with their exact MessagePack bytes). Both are
 * committed; test/protocol/ fails when they are stale.
 *
 *   node --import tsx protocol-schema/generate.ts
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeValue } from "../src/protocol/codec.ts";
import { CLIENT_FRAMES, SERVER_FRAMES } from "./frames.ts";
import { CLIENT_SAMPLES, SERVER_SAMPLES } from "./samples.ts";
import type { Definitions, Json, Schema } from "./schema.ts";

export const SCHEMA_FILE = join(dirname(fileURLToPath(import.meta.url)), "frames.schema.json");
export const VECTORS_FILE = join(dirname(fileURLToPath(import.meta.url)), "vectors.json");

export type Direction = "client" | "server";

/** Where a frame's schema sits under `$defs`: `client.hello`, `server.msg`. */
export const definitionName = (direction: Direction, t: string) => `${direction}.${t}`;

export function buildSchema(): Json {
  const definitions: Definitions = new Map();
  const union = (direction: Direction, frames: Record<string, Schema<unknown>>) => {
    const refs = Object.entries(frames).map(([t, schema]) => {
      definitions.set(definitionName(direction, t), schema.toJson(definitions));
      return { $ref: `#/$defs/${definitionName(direction, t)}` };
    });
    return { oneOf: refs };
  };
  const client = union("client", CLIENT_FRAMES);
  const server = union("server", SERVER_FRAMES);
  definitions.set("ClientFrame", client);
  definitions.set("ServerFrame", server);
  const sorted = Object.fromEntries([...definitions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "urn:router:protocol:v1:frames",
    title: "Router protocol v1 frames",
    description:
      "Every WebSocket message is one MessagePack map. This schema describes it as JSON: a MessagePack bin is written {\"$bin\": lowercase hex}; an absent optional field may also arrive as nil. " +
      "$defs/ClientFrame is what a client sends, $defs/ServerFrame what it receives; each frame type is $defs/client.<t> or $defs/server.<t>. Limits beyond shapes: docs/protocol.md.",
    $defs: sorted,
    anyOf: [{ $ref: "#/$defs/ClientFrame" }, { $ref: "#/$defs/ServerFrame" }],
  };
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** A frame as the vectors hold it: bytes as {"$bin": hex}, absent fields left out. */
export function toJsonValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $bin: hex(value) };
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, toJsonValue(v)]));
  }
  return value;
}

export interface Vector {
  name: string;
  direction: Direction;
  frame: unknown;
  hex: string;
}

export function buildVectors(): Vector[] {
  const vectors = (direction: Direction, samples: Array<{ name: string; frame: unknown }>) =>
    samples.map(({ name, frame }) => ({ name: `${direction}: ${name}`, direction, frame: toJsonValue(frame), hex: hex(encodeValue(frame)) }));
  return [...vectors("client", CLIENT_SAMPLES), ...vectors("server", SERVER_SAMPLES)];
}

export const printed = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(SCHEMA_FILE, printed(buildSchema()));
  writeFileSync(VECTORS_FILE, printed(buildVectors()));
}
