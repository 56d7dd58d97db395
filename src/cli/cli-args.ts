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

/**
 * Strict flag parsing (node:util `parseArgs`): unknown flags, missing values, ambiguous values
 * (`--room --identity x`) and positional arguments become `UsageError`s instead of Node's TypeErrors.
 */
export function parseFlags(args: readonly string[], options: Options): Values {
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
      throw new UsageError(e.message.split("\n")[0] ?? e.message);
    }
    throw e;
  }
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
