/** Jitter room before the interval ends: a fifth of it, at most 30 s (see `RekeySchedule`). */
const MAX_MARGIN_MS = 30_000;

/** How long after the previous keying the next rekey starts: the interval less its margin. */
export function rekeyLeadMs(intervalMs: number): number {
  return intervalMs - Math.min(intervalMs / 5, MAX_MARGIN_MS);
}

/**
 * Runs the channel's rekey every `intervalMs` (the server's `pq_session.rekey_interval`, or an override), one at a
 * time; a failed rekey is reported and ends the schedule (the connection is then dropped and resumed with a fresh
 * handshake).
 *
 * The server closes a channel whose keys are older than its interval plus grace, and times them from when it
 * verified `pq_finished` or answered a rekey. Each interval is therefore timed here from when the client *sent*
 * what the server times from (`pq_finished`, then each rekey request), which precedes the server's moment by the
 * trip to it, so the network delay cancels out; timed from the answer's arrival it would add a round trip each
 * time, and a grace of 0 would cut the channel. The margin covers what does not cancel (jitter, a busy event loop).
 */
export class RekeySchedule {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;

  /**
   * `keyedAt` (a `performance.now()` time) is when the channel's current keys were asked for: when `pq_finished`
   * went out, then the request of the last completed rekey (scheduled or not).
   */
  constructor(
    private readonly rekey: () => Promise<void>,
    private readonly failed: (error: unknown) => void,
    private readonly keyedAt: () => number,
  ) {}

  /** (Re)starts the schedule; `intervalMs` ≤ 0 disables it. */
  start(intervalMs: number): void {
    this.stop();
    this.running = intervalMs > 0;
    if (this.running) this.arm(intervalMs);
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(intervalMs: number): void {
    const delay = Math.max(0, this.keyedAt() + rekeyLeadMs(intervalMs) - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.rekey().then(
        () => this.running && this.arm(intervalMs),
        (e: unknown) => this.running && this.failed(e),
      );
    }, delay);
  }
}
