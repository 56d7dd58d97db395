/** API key → secret. Tokens name their key in `iss`. */
export type ApiKeys = ReadonlyMap<string, string>;

/**
 * Parses LiveKit's `LIVEKIT_KEYS` format: `key: secret` or `key:secret` pairs separated by commas or
 * newlines (the YAML-ish form LiveKit documents). Returns a message instead of throwing so config
 * validation can list every problem at once.
 */
export function parseApiKeys(text: string): Map<string, string> | string {
  const keys = new Map<string, string>();
  for (const raw of text.split(/[\n,]/)) {
    const entry = raw.trim();
    if (entry === "" || entry.startsWith("#")) continue;
    const colon = entry.indexOf(":");
    if (colon <= 0) return `entry ${JSON.stringify(entry.slice(0, 40))} is not key:secret`;
    const key = entry.slice(0, colon).trim();
    const secret = entry.slice(colon + 1).trim().replace(/^["']|["']$/g, "");
    if (key === "" || secret === "") return `entry for ${JSON.stringify(key)} has an empty key or secret`;
    if (keys.has(key)) return `key ${JSON.stringify(key)} is listed twice`;
    keys.set(key, secret);
  }
  if (keys.size === 0) return "no key:secret pairs found";
  return keys;
}
