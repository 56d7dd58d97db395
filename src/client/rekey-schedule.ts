/**
 * Runs the channel's rekey every `intervalMs` (the server's `pq_session.rekey_interval`, or an override), one at a
 * time; a failed rekey is reported and ends the schedule (the connection is then dropped and resumed with a fresh
 * handshake).
 */
export class RekeySchedule {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;

  constructor(private readonly rekey: () => Promise<void>, private readonly failed: (error: unknown) => void) {}

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
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.rekey().then(
        () => this.running && this.arm(intervalMs),
        (e: unknown) => this.running && this.failed(e),
      );
    }, intervalMs);
  }
}
