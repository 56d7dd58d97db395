/**
 * When a joined connection gets its next `refresh_token`, and how long each one is valid.
 *
 * The token a client holds is what it resumes with after a drop, at any moment until the next refresh
 * arrives and for a resume window after that. So a refreshed token must outlive the next refresh by the
 * resume window at least, or a drop just before that refresh could not be resumed; and a refresh that goes
 * missing (the send failed, the connection was busy) should not strand the client either, hence a second
 * interval. The validation leeway is not counted on: clocks differ.
 */

/** LiveKit's floor for a refreshed token's validity (seconds); longer intervals lengthen it. */
const MIN_VALIDITY_SECONDS = 600;
/** Room for the time a refresh takes to sign and reach the client, and for a slow clock. */
const MARGIN_SECONDS = 60;
/** The validation leeway (access-token.ts): a token within it of its expiry is still refreshed in time. */
const LEEWAY_MS = 60_000;

/** Seconds a refreshed token is valid for (at least; a refresh never shortens the original expiry). */
export function refreshValiditySeconds(intervalSeconds: number, resumeWindowSeconds: number): number {
  return Math.max(MIN_VALIDITY_SECONDS, intervalSeconds + Math.max(intervalSeconds, resumeWindowSeconds) + MARGIN_SECONDS);
}

/**
 * Milliseconds from `now` to the next refresh: the interval, but sooner when the token the client holds
 * (expiring at `expiresAtMs`) would otherwise lapse first, so the client always holds a token it can resume with.
 */
export function nextRefreshInMs(intervalSeconds: number, expiresAtMs: number, now: number): number {
  return Math.min(intervalSeconds * 1000, Math.max(0, expiresAtMs - now - LEEWAY_MS));
}
