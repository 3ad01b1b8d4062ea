/**
 * A small schema language whose values print as JSON Schema and whose types TypeScript
 * infers, so protocol-schema/frames.ts can be checked by the compiler against
 * src/protocol/frames.ts: a schema that says other than the frame type does not compile.
 *
 * JSON Schema describes JSON; frames are MessagePack. The mapping: a MessagePack map is an
 * object, an array an array, str a string, int and float numbers, and a bin is written
 * {"$bin": "<lowercase hex>"} (that is how the test vectors hold bytes).
 */

export type Json = { [key: string]: unknown };

/** Named schemas collected while printing, emitted once under `$defs`. */
export type Definitions = Map<string, Json>;

export interface Schema<T> {
  /** Never set: carries the type the schema describes. */
  readonly type?: T;
  toJson(definitions: Definitions): Json;
}

/** A property that may be left out. */
export interface Optional<T> {
  readonly optional: Schema<T>;
}

export type TypeOf<S> = S extends Schema<infer T> ? T : S extends Optional<infer T> ? T : never;

const schema = <T>(json: Json): Schema<T> => ({ toJson: () => json });

export const str = (constraints: { pattern?: RegExp; minLength?: number; maxLength?: number } = {}): Schema<string> =>
  schema({
    type: "string",
    ...(constraints.pattern ? { pattern: constraints.pattern.source } : {}),
    ...(constraints.minLength !== undefined ? { minLength: constraints.minLength } : {}),
    ...(constraints.maxLength !== undefined ? { maxLength: constraints.maxLength } : {}),
  });

/** A whole number at least 0 (`r`, `seq`, `ts`, counts). */
export const uint: Schema<number> = schema({ type: "integer", minimum: 0 });
export const int: Schema<number> = schema({ type: "integer" });
export const bool: Schema<boolean> = schema({ type: "boolean" });
export const bin: Schema<Uint8Array> = { toJson: (definitions) => ref(definitions, "bin", BIN) };
const BIN: Json = {
  description: "MessagePack bin, written in JSON as {\"$bin\": lowercase hex}",
  type: "object",
  properties: { $bin: { type: "string", pattern: "^([0-9a-f]{2})*$" } },
  required: ["$bin"],
  additionalProperties: false,
};

export function lit<const L extends string | boolean>(value: L): Schema<L> {
  return schema({ const: value });
}

export function oneOf<const L extends readonly string[]>(...values: L): Schema<L[number]> {
  return schema({ enum: values });
}

export function arr<T>(item: Schema<T>, constraints: { maxItems?: number } = {}): Schema<T[]> {
  return { toJson: (definitions) => ({ type: "array", items: item.toJson(definitions), ...constraints }) };
}

/** A map from any string key to values of one schema. */
export function record<T>(value: Schema<T>): Schema<Record<string, T>> {
  return { toJson: (definitions) => ({ type: "object", additionalProperties: value.toJson(definitions) }) };
}

export function anyOf<A, B>(a: Schema<A>, b: Schema<B>): Schema<A | B> {
  return { toJson: (definitions) => ({ anyOf: [a.toJson(definitions), b.toJson(definitions)] }) };
}

export function opt<T>(value: Schema<T>): Optional<T> {
  return { optional: value };
}

type Properties = Record<string, Schema<unknown> | Optional<unknown>>;
type Flat<T> = { [K in keyof T]: T[K] };
export type ObjectOf<P extends Properties> = Flat<
  { [K in keyof P as P[K] extends Optional<unknown> ? never : K]: TypeOf<P[K]> } & {
    [K in keyof P as P[K] extends Optional<unknown> ? K : never]?: TypeOf<P[K]>;
  }
>;

/** A map with exactly these keys; `Optional` ones may be absent (or nil, which means absent). */
export function obj<const P extends Properties>(properties: P): Schema<ObjectOf<P>> {
  return {
    toJson: (definitions) => {
      const json: Record<string, Json> = {};
      const required: string[] = [];
      for (const [key, value] of Object.entries(properties)) {
        if ("optional" in value) json[key] = { anyOf: [value.optional.toJson(definitions), { type: "null" }] };
        else {
          json[key] = value.toJson(definitions);
          required.push(key);
        }
      }
      return { type: "object", properties: json, required, additionalProperties: false };
    },
  };
}

/** The same schema, printed once under `$defs` and referred to by name wherever it is used. */
export function named<T>(name: string, inner: Schema<T>): Schema<T> {
  return { toJson: (definitions) => ref(definitions, name, undefined, inner) };
}

function ref(definitions: Definitions, name: string, json: Json | undefined, inner?: Schema<unknown>): Json {
  if (!definitions.has(name)) {
    // Reserve the name first: a schema that refers to itself stops here.
    definitions.set(name, {});
    definitions.set(name, json ?? inner!.toJson(definitions));
  }
  return { $ref: `#/$defs/${name}` };
}
