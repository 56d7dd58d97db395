import { CONTROL_CHARACTERS } from "./auth/participant-names.js";

/** The environment as `loadConfig` sees it: every value a string, or absent. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Typed reads of environment variables that never throw: each bad value is recorded in `problems` (so
 * `loadConfig` can list them all at once) and the fallback is returned in its place. Numbers, booleans and
 * enumerations are trimmed and read case-insensitively, so `LOG_LEVEL=INFO` and `VOLLY_PQ_ENABLED=TRUE`
 * mean what they say.
 */
export class EnvReader {
  readonly problems: string[] = [];
  private readonly blanks = new Set<string>();
  constructor(private readonly env: Env) {}

  problem(message: string): void {
    this.problems.push(message);
  }

  /**
   * The raw value; unset and empty both read as absent (compose writes `VAR=` for an unset `${VAR}`). A value
   * of only whitespace reads as absent too, but is a problem (once per variable): it is a quoting mistake,
   * and taking it for unset would quietly put a default (the development keys, a random node id, every
   * interface) in place of what the operator meant to set.
   */
  optional(name: string): string | undefined {
    const v = this.env[name];
    if (v === undefined || v === "") return undefined;
    if (v.trim() !== "") return v;
    if (!this.blanks.has(name)) {
      this.blanks.add(name);
      this.problem(`${name} is set but blank (only whitespace)`);
    }
    return undefined;
  }

  /** Whether `name` has a value, blank included: a blank one is reported, yet must not count as missing too. */
  isSet(name: string): boolean {
    const v = this.env[name];
    return v !== undefined && v !== "";
  }

  string(name: string, fallback: string): string {
    return this.optional(name) ?? fallback;
  }

  /**
   * A trimmed string that must not contain control characters: in a value they are almost always a quoting
   * mistake in a .env or compose file, and in Redis key names, log lines or what clients are sent they would
   * be invisible. Checked before trimming, so a stray `\r` at the end is reported rather than hidden.
   */
  text(name: string, fallback: string): string {
    const v = this.optional(name);
    if (v === undefined) return fallback;
    if (CONTROL_CHARACTERS.test(v)) {
      this.problem(`${name}=${JSON.stringify(v)} contains a control character (a newline or tab?)`);
      return fallback;
    }
    return v.trim();
  }

  /** `text` for a value that may hold a password (a Redis URL): the problem names the variable only. */
  secretText(name: string): string | undefined {
    const v = this.optional(name);
    if (v === undefined) return undefined;
    if (CONTROL_CHARACTERS.test(v)) {
      this.problem(`${name} contains a control character (a newline or tab?); its value is not shown as it may hold a password`);
      return undefined;
    }
    return v.trim();
  }

  /**
   * A password or secret, as given (not trimmed: it must match what the other side was configured with).
   * Problems never quote it, since they go to stderr and container logs; a blank one is refused by
   * `optional` (a blank secret protects nothing).
   */
  secret(name: string): string | undefined {
    return this.optional(name);
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.optional(name);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v.trim())) {
      this.problem(`${name}=${JSON.stringify(v)} is not a whole number`);
      return fallback;
    }
    const n = Number(v.trim());
    if (n < min || n > max) {
      this.problem(`${name}=${n} is outside ${min}..${max}`);
      return fallback;
    }
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.optional(name)?.trim().toLowerCase();
    if (v === undefined) return fallback;
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off"].includes(v)) return false;
    this.problem(`${name}=${JSON.stringify(v)} is not a boolean (true/false)`);
    return fallback;
  }

  /** One of `allowed`, matched trimmed and ignoring case; returns the spelling in `allowed`. */
  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = this.optional(name);
    if (v === undefined) return fallback;
    const wanted = v.trim().toLowerCase();
    const match = allowed.find((a) => a.toLowerCase() === wanted);
    if (match !== undefined) return match;
    this.problem(`${name}=${JSON.stringify(v)} must be one of ${allowed.join(", ")}`);
    return fallback;
  }

  list(name: string, fallback: string[]): string[] {
    const v = this.optional(name);
    if (v === undefined) return fallback;
    return v.split(/[,\s]+/).filter((s) => s !== "");
  }
}
