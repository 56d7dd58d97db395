import { parseApiKeys, type ApiKeys } from "./auth/api-keys.js";
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
  const keys = env.LIVEKIT_KEYS !== undefined && env.LIVEKIT_KEYS.trim() !== "" ? readKeyList(env.LIVEKIT_KEYS, r) : readKeyPair(env, r);
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

function readKeyList(text: string, r: EnvReader): ApiKeys {
  const parsed = parseApiKeys(text);
  if (typeof parsed !== "string") return parsed;
  r.problem(`LIVEKIT_KEYS: ${parsed}`);
  return new Map();
}

function readKeyPair(env: Env, r: EnvReader): ApiKeys {
  const key = env.LIVEKIT_API_KEY;
  const secret = env.LIVEKIT_API_SECRET;
  if (key === undefined && secret === undefined) return new Map([[DEV_API_KEY, DEV_API_SECRET]]);
  const problems = r.problems.length;
  if (key === undefined) r.problem("LIVEKIT_API_SECRET is set but LIVEKIT_API_KEY is missing: set both (or LIVEKIT_KEYS)");
  else if (key.trim() === "") r.problem("LIVEKIT_API_KEY must not be empty");
  if (secret === undefined) r.problem("LIVEKIT_API_KEY is set but LIVEKIT_API_SECRET is missing: set both (or LIVEKIT_KEYS)");
  else if (secret.trim() === "") r.problem("LIVEKIT_API_SECRET must not be empty");
  return r.problems.length > problems || key === undefined || secret === undefined ? new Map() : new Map([[key, secret]]);
}
