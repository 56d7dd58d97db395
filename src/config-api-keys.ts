import { parseApiKeys, type ApiKeys } from "./auth/api-keys.js";
import { CONTROL_CHARACTERS } from "./auth/participant-names.js";
import type { Env, EnvReader } from "./config-env-reader.js";

/** The development key pair of the seed; refused when NODE_ENV=production. */
export const DEV_API_KEY = "volly-dev-key";
export const DEV_API_SECRET = "volly-dev-secret-key-2024";

/** Shortest API secret NODE_ENV=production accepts. */
const MIN_PRODUCTION_SECRET = 32;

/**
 * The API keys tokens may be signed with: LIVEKIT_KEYS when set, else the LIVEKIT_API_KEY/LIVEKIT_API_SECRET
 * pair, else (neither of the two set) the development pair. Half a pair is an error, never completed with
 * the development half: a key of one's own with the public development secret would accept tokens anyone
 * can sign. Problems go to `r`; the keys returned then may be empty.
 */
export function readApiKeys(env: Env, r: EnvReader, production: boolean): ApiKeys {
  const list = r.optional("LIVEKIT_KEYS");
  // A blank LIVEKIT_KEYS is a problem already: the pair (or the development keys) must not stand in for it.
  const keys = list !== undefined ? readKeyList(list, r) : r.isSet("LIVEKIT_KEYS") ? new Map<string, string>() : readKeyPair(env, r);
  for (const [key, secret] of keys) {
    if (key !== DEV_API_KEY && secret === DEV_API_SECRET) {
      // What docker-compose.signaling.yml builds when only LIVEKIT_API_KEY is set in .env: it fills in
      // the development secret as the default of LIVEKIT_API_SECRET.
      r.problem(`the secret of API key ${JSON.stringify(key)} is the public development secret ${DEV_API_SECRET}; set LIVEKIT_API_SECRET (or the key's entry in LIVEKIT_KEYS) to a secret of your own`);
    }
  }
  if (production) {
    for (const [key, secret] of keys) {
      if (key === DEV_API_KEY) {
        r.problem(`the development key ${DEV_API_KEY} / ${DEV_API_SECRET} is refused when NODE_ENV=production; set LIVEKIT_KEYS or LIVEKIT_API_KEY/LIVEKIT_API_SECRET`);
      } else if (secret !== DEV_API_SECRET && secret.length < MIN_PRODUCTION_SECRET) {
        r.problem(`API secret for key ${key} is shorter than ${MIN_PRODUCTION_SECRET} characters (NODE_ENV=production)`);
      }
    }
  }
  return keys;
}

/**
 * The format trims around each key and secret (`key: secret`, one per line, so a Windows line end goes with
 * it); a control character left inside one is a quoting mistake that no token could ever match.
 */
function readKeyList(text: string, r: EnvReader): ApiKeys {
  const parsed = parseApiKeys(text);
  if (typeof parsed === "string") {
    r.problem(`LIVEKIT_KEYS: ${parsed}`);
    return new Map();
  }
  let position = 0;
  for (const [key, secret] of parsed) {
    position++;
    if (CONTROL_CHARACTERS.test(key) || CONTROL_CHARACTERS.test(secret)) {
      r.problem(`LIVEKIT_KEYS: entry ${position} of ${parsed.size} has a control character (a tab?) in its key or secret`);
    }
  }
  return parsed;
}

/**
 * The pair is taken as given (it has no format to trim by), so what would make every token fail with
 * "invalid API key" (a stray `\r` from a Windows .env, spaces around the value) is refused here instead.
 * An empty value is the "must not be empty" half pair, as before; a blank one is reported by `r.optional`.
 */
function readKeyPair(env: Env, r: EnvReader): ApiKeys {
  const key = env.LIVEKIT_API_KEY;
  const secret = env.LIVEKIT_API_SECRET;
  if (key === undefined && secret === undefined) return new Map([[DEV_API_KEY, DEV_API_SECRET]]);
  const problems = r.problems.length;
  if (key === undefined) r.problem("LIVEKIT_API_SECRET is set but LIVEKIT_API_KEY is missing: set both (or LIVEKIT_KEYS)");
  else if (key === "") r.problem("LIVEKIT_API_KEY must not be empty");
  else if (r.optional("LIVEKIT_API_KEY") !== undefined) keyPairValueProblems("LIVEKIT_API_KEY", key, r);
  if (secret === undefined) r.problem("LIVEKIT_API_KEY is set but LIVEKIT_API_SECRET is missing: set both (or LIVEKIT_KEYS)");
  else if (secret === "") r.problem("LIVEKIT_API_SECRET must not be empty");
  else if (r.optional("LIVEKIT_API_SECRET") !== undefined) keyPairValueProblems("LIVEKIT_API_SECRET", secret, r);
  return r.problems.length > problems || key === undefined || secret === undefined ? new Map() : new Map([[key, secret]]);
}

/** Problems never quote the value: the secret's would reach the logs, and the key is often pasted with it. */
function keyPairValueProblems(name: string, value: string, r: EnvReader): void {
  if (CONTROL_CHARACTERS.test(value)) {
    r.problem(`${name} contains a control character (a newline or tab? a Windows line end in a .env file?); its value is not shown`);
  } else if (value.trim() !== value) {
    r.problem(`${name} has leading or trailing whitespace, which tokens would have to match; its value is not shown`);
  }
}
