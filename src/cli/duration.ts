const UNIT_SECONDS: Readonly<Record<string, number>> = { d: 86_400, h: 3600, m: 60, s: 1 };

/** The longest lifetime `parseDuration` accepts: one year. */
export const MAX_DURATION_SECONDS = 31_536_000;

/**
 * Parses a lifetime the way LiveKit's tools write it: whole seconds (`3600`) or units (`6h`, `30m`, `90s`,
 * `1d`, compounds such as `1h30m`). Returns seconds, or undefined when `text` is malformed, zero or longer
 * than `MAX_DURATION_SECONDS`.
 */
export function parseDuration(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  let seconds: number;
  if (/^\d+$/.test(t)) seconds = Number(t);
  else if (/^(\d+[dhms])+$/.test(t)) {
    seconds = 0;
    for (const [, n, unit] of t.matchAll(/(\d+)([dhms])/g)) seconds += Number(n) * (UNIT_SECONDS[unit ?? "s"] ?? 1);
  } else return undefined;
  return seconds >= 1 && seconds <= MAX_DURATION_SECONDS ? seconds : undefined;
}
