import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import { SCHEMA_FILE } from "../../protocol-schema/generate.ts";

export const committedSchema = JSON.parse(readFileSync(SCHEMA_FILE, "utf8")) as { $id: string; $defs: Record<string, unknown> };

/** The committed schema compiled by an independent validator, strict about the schema itself. */
export function frameValidators() {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  ajv.addSchema(committedSchema);
  const get = (name: string) => {
    const validate = ajv.getSchema(`${committedSchema.$id}#/$defs/${name}`);
    assert.ok(validate, `$defs/${name}`);
    return validate;
  };
  return { client: get("ClientFrame"), server: get("ServerFrame"), get };
}
