import { readFileSync } from "node:fs";
import { parse, YAMLParseError } from "yaml";
import { ConfigError, ENVIRONMENT_TABLE, type ConfigKey } from "./config.ts";

/**
 * A settings file (`--config router.yaml`, ROUTER_CONFIG): YAML whose keys are the config keys
 * of the environment table, nested as the dots say (ROUTER_PORT is `port`, ROUTER_SCYLLA is
 * `storage: { scylla: ... }`). A key the table lacks is refused, so that a typo is not a
 * setting silently left at its default. `<key>File: PATH` gives a setting the content of a
 * file, as ROUTER_X_FILE does (keys that are themselves settings, `secretFile`, keep their
 * own meaning).
 */

const KEYS = new Set<string>(Object.values(ENVIRONMENT_TABLE));
/** `storage`, `push.apns`, ...: the maps a file may nest keys under. */
const SECTIONS = new Set([...KEYS].flatMap((key) => key.split(".").slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join("."))));

export interface FileSetting {
  key: ConfigKey;
  value: string;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The settings a file gives, in file order, each as the string a flag would give. */
export function readConfigFile(path: string): FileSetting[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`config file ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let document: unknown;
  try {
    // Every value as the string it is written as, converted like a flag's: YAML's own typing
    // would turn `secret: 1e3` into 1000 and `nodeId: 0123` into 123.
    document = parse(text, { schema: "failsafe" });
  } catch (error) {
    if (error instanceof YAMLParseError) {
      const line = error.linePos?.[0].line;
      // The parser's first line says what is wrong; the rest is a picture of the spot.
      const what = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
      throw new ConfigError(`config file ${path} is not valid YAML${line === undefined ? "" : ` (line ${line})`}: ${what}`);
    }
    throw error;
  }
  if (document === null || document === undefined) return [];
  if (!isMap(document)) throw new ConfigError(`config file ${path} must be a map of settings (key: value)`);
  const settings: FileSetting[] = [];
  const visit = (map: Record<string, unknown>, prefix: string) => {
    for (const [name, value] of Object.entries(map)) {
      const key = prefix + name;
      if (SECTIONS.has(key)) {
        if (!isMap(value)) throw new ConfigError(`config file ${path}: ${key} holds settings (${key}: { ... })`);
        visit(value, `${key}.`);
      } else if (KEYS.has(key)) {
        settings.push({ key: key as ConfigKey, value: scalar(path, key, value) });
      } else if (key.endsWith("File") && KEYS.has(key.slice(0, -"File".length))) {
        settings.push({ key: key.slice(0, -"File".length) as ConfigKey, value: readSettingFile(path, key, scalar(path, key, value)) });
      } else {
        throw new ConfigError(`config file ${path}: unknown setting ${key} (see router help config)`);
      }
    }
  };
  visit(document, "");
  return settings;
}

function scalar(path: string, key: string, value: unknown): string {
  if (typeof value !== "string") throw new ConfigError(`config file ${path}: ${key} must be a single value (a string, number or true/false)`);
  // An empty value would be read as 0 for a number (`port:` would listen on a random port).
  if (value === "") throw new ConfigError(`config file ${path}: ${key} has no value (leave the key out for its default)`);
  return value;
}

function readSettingFile(path: string, key: string, file: string): string {
  try {
    // One trailing newline is how editors and `echo` end a file, never part of the value.
    return readFileSync(file, "utf8").replace(/\r?\n$/, "");
  } catch (error) {
    throw new ConfigError(`config file ${path}: ${key} ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}
