import { readFileSync } from "node:fs";
import { ConfigError } from "../config.ts";

/**
 * The token secret from `--secret-file` / ROUTER_SECRET_FILE: kept out of the command line,
 * where every local user reads it in `ps`. Surrounding white space (a trailing newline) is
 * not part of it.
 */
export function readSecretFile(path: string): string {
  let secret: string;
  try {
    secret = readFileSync(path, "utf8").trim();
  } catch (error) {
    const code = error instanceof Error && "code" in error ? String(error.code) : String(error);
    throw new ConfigError(`cannot read the secret file ${path}: ${code}`);
  }
  if (!secret) throw new ConfigError(`the secret file ${path} is empty`);
  return secret;
}
