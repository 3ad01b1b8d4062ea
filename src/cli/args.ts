/**
 * The command line of one router command, parsed against that command's own flag list. Our own
 * parser rather than node:util's parseArgs: its errors are Node's sentences about "options",
 * with the flag only inside the message text, and operators should read one line that names the
 * flag, the command and where its help is.
 */

/** A mistake on the command line (unknown flag, missing value): exit 2, one line. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export interface FlagSpec {
  /** Without the dashes: `port` for `--port`. */
  name: string;
  /** The value's placeholder in help (`P`, `DIR`); absent for a switch that takes no value. */
  value?: string;
  /** The environment variable that sets the same thing, shown in help. */
  env?: string;
  help: string;
}

export interface ParsedArgs {
  /** Flags given, by name: a string value, or true for a switch. */
  flags: Map<string, string | true>;
  positionals: string[];
  /** `--help` or `-h` was given: show the command's help, whatever else is there. */
  help: boolean;
}

/**
 * `--name value`, `--name=value`, switches, and up to `maxPositionals` plain arguments (`--`
 * ends the flags). A value may not start with `--` unless given as `--name=value`: `--port
 * --host` is a forgotten value, not a port.
 */
export function parseCommandLine(command: string, specs: readonly FlagSpec[], maxPositionals: number, args: readonly string[]): ParsedArgs {
  const seeHelp = `(see router help ${command})`;
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const parsed: ParsedArgs = { flags: new Map(), positionals: [], help: false };
  const end = args.indexOf("--");
  if ((end === -1 ? args : args.slice(0, end)).some((arg) => arg === "--help" || arg === "-h")) {
    parsed.help = true;
    return parsed;
  }
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (arg === "--") {
      parsed.positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      parsed.positionals.push(arg);
      continue;
    }
    const equals = arg.indexOf("=");
    const name = arg.startsWith("--") ? arg.slice(2, equals === -1 ? undefined : equals) : "";
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag ${equals === -1 ? arg : arg.slice(0, equals)} for ${command} ${seeHelp}`);
    if (parsed.flags.has(name)) throw new UsageError(`--${name} given twice for ${command}`);
    if (spec.value === undefined) {
      if (equals !== -1) throw new UsageError(`--${name} for ${command} takes no value ${seeHelp}`);
      parsed.flags.set(name, true);
      continue;
    }
    let value: string | undefined;
    if (equals !== -1) value = arg.slice(equals + 1);
    else if (i + 1 < args.length && !args[i + 1]!.startsWith("--")) value = args[(i += 1)];
    if (value === undefined) throw new UsageError(`--${name} for ${command} needs a value: --${name} ${spec.value} ${seeHelp}`);
    parsed.flags.set(name, value);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument ${parsed.positionals[maxPositionals]} for ${command} ${seeHelp}`);
  }
  return parsed;
}
