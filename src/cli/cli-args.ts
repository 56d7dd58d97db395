import { parseArgs, type ParseArgsConfig } from "node:util";

/** A command-line mistake: the CLI prints it with the command's usage and exits with code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;
type Values = Record<string, string | boolean | undefined>;

/** What a string option's value must look like, for messages: `{ ttl: "a positive duration such as 1h" }`. */
export type ValueHints = Readonly<Record<string, string>>;

/**
 * Strict flag parsing (node:util `parseArgs`): unknown flags, missing values, ambiguous values
 * (`--room --identity x`) and positional arguments become `UsageError`s instead of Node's TypeErrors.
 * `-h`/`--help` anywhere wins over every other mistake on the line: someone asking for help is often
 * halfway through writing the command.
 */
export function parseFlags(args: readonly string[], options: Options, hints: ValueHints = {}): Values {
  if (Object.hasOwn(options, "help") && wantsHelp(args)) return { help: true };
  try {
    const { values } = parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
    const out: Values = {};
    for (const [k, v] of Object.entries(values)) {
      // Every option here is single-valued, so arrays never appear; keep the type narrow anyway.
      if (typeof v === "string" || typeof v === "boolean") out[k] = v;
    }
    return out;
  } catch (e) {
    if (e instanceof TypeError && "code" in e && String(e.code).startsWith("ERR_PARSE_ARGS")) {
      throw new UsageError(valueMessage(e.message, args, options, hints) ?? e.message.split("\n")[0] ?? e.message);
    }
    throw e;
  }
}

/** `-h` or `--help` before a `--` terminator. */
function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === "--") return false;
    if (a === "-h" || a === "--help") return true;
  }
  return false;
}

/**
 * Node's messages for a missing or dash-led value ("Option '--ttl' argument is ambiguous") name the parser's
 * problem, not the user's: say what the option needs instead. Undefined for every other parse error.
 */
function valueMessage(message: string, args: readonly string[], options: Options, hints: ValueHints): string | undefined {
  const m = /^Option '--([\w-]+)(?: <value>)?' argument (missing|is ambiguous)/.exec(message);
  const name = m?.[1];
  if (name === undefined) return undefined;
  const hint = hints[name];
  if (m?.[2] === "missing") return hint === undefined ? `--${name} needs a value` : `--${name} needs a value: ${hint}`;
  const next = args[args.indexOf(`--${name}`) + 1] ?? "";
  if (hint !== undefined) return `--${name} must be ${hint}, not ${JSON.stringify(next)}`;
  if (isOption(next, options)) return `--${name} needs a value, but ${next} follows it`;
  return `--${name} needs a value; write --${name}=${next} for a value that starts with "-"`;
}

function isOption(arg: string, options: Options): boolean {
  if (arg.startsWith("--")) return Object.hasOwn(options, arg.slice(2).split("=")[0] ?? "");
  return Object.values(options).some((o) => o.short !== undefined && arg === `-${o.short}`);
}

/** A string flag that must be present and non-empty. */
export function requireString(values: Values, name: string): string {
  const v = values[name];
  if (typeof v !== "string" || v.trim() === "") throw new UsageError(`--${name} is required`);
  return v;
}

/** A string flag that may be absent; present but empty is a mistake. */
export function optionalString(values: Values, name: string): string | undefined {
  const v = values[name];
  if (v === undefined || typeof v === "boolean") return undefined;
  if (v === "") throw new UsageError(`--${name} must not be empty`);
  return v;
}
