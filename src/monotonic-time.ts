/**
 * Milliseconds since this process started, on the monotonic clock: what a node's own deadlines (ping and
 * handshake timeouts, PQ rekey and session deadlines, the heartbeat schedule) are measured on. A step of
 * the wall clock (NTP, a VM resumed) is not time passing: judged on `Date.now()`, a step forward would time
 * out every connection and a step back would stop the heartbeats. A small integer for 24 days (V8 keeps it
 * in the field itself, see `compact-time.ts`).
 */
export function monotonicMs(): number {
  return Math.floor(performance.now());
}
