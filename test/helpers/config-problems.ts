import { ConfigError, loadConfig } from "../../src/config.js";

/** The problems `loadConfig(env)` reports, or [] when it accepts `env`. */
export function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems;
  }
}
