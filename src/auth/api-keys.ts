/** API key → secret. Tokens name their key in `iss`. */
export type ApiKeys = ReadonlyMap<string, string>;

/**
 * Parses LiveKit's `LIVEKIT_KEYS` format: `key: secret` or `key:secret` pairs separated by commas or
 * newlines (the YAML-ish form LiveKit documents). Returns a message instead of throwing so config
 * validation can list every problem at once.
 *
 * A message names an entry by its position only (blank and `#` lines not counted), never by its text: an
 * entry that does not parse is as likely a secret, or half of one, as a key, and the message goes to stderr
 * and from there to container logs.
 */
export function parseApiKeys(text: string): Map<string, string> | string {
  const entries = splitEntries(text);
  const keys = new Map<string, string>();
  const positions = new Map<string, number>();
  for (const [i, { entry, afterComma }] of entries.entries()) {
    const at = `entry ${i + 1} of ${entries.length}`;
    const colon = entry.indexOf(":");
    if (colon < 0) {
      // The separator list splits on every comma, so a secret with one arrives as two entries, the second
      // without a colon: the likeliest cause when a comma came before.
      const cut = afterComma && i > 0 ? `; if the secret of entry ${i} contains a comma, it was cut there: secrets in LIVEKIT_KEYS cannot contain commas` : "";
      return `${at} is not "key: secret" (no colon after the key)${cut}`;
    }
    const key = entry.slice(0, colon).trim();
    const secret = entry.slice(colon + 1).trim().replace(/^["']|["']$/g, "");
    if (key === "") return `${at} has an empty key (expected "key: secret")`;
    if (secret === "") return `${at} has an empty secret (expected "key: secret")`;
    const first = positions.get(key);
    if (first !== undefined) return `${at} repeats the key of entry ${first}`;
    positions.set(key, i + 1);
    keys.set(key, secret);
  }
  if (keys.size === 0) return 'no "key: secret" pairs found';
  return keys;
}

interface Entry {
  readonly entry: string;
  /** Whether a comma (rather than a newline or the start) comes before the entry. */
  readonly afterComma: boolean;
}

/** The non-blank, non-comment entries of `text`, trimmed. */
function splitEntries(text: string): Entry[] {
  const parts = text.split(/([\n,])/);
  const entries: Entry[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    const entry = (parts[i] ?? "").trim();
    if (entry === "" || entry.startsWith("#")) continue;
    entries.push({ entry, afterComma: parts[i - 1] === "," });
  }
  return entries;
}
