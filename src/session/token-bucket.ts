/**
 * Whole milliseconds since the process started: a small integer for 24 days, which V8 keeps in the bucket's
 * field itself instead of a heap number per connection. Whole milliseconds lose nothing: `last` moves only
 * when time has passed, so what a call does not count the next one does.
 */
function clock(): number {
  return Math.floor(performance.now());
}

/** A token bucket: `rate` tokens per second, at most `burst` saved up. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly rate: number, private readonly burst: number, now = clock()) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes `cost` tokens; false (and nothing taken) when fewer are left. */
  take(cost = 1, now = clock()): boolean {
    this.refill(now);
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }

  /**
   * Takes `cost` tokens whatever is left: the bucket may go into debt, for a cost known only once what it
   * pays for is done. Nothing is saved again until the debt is paid back.
   */
  spend(cost: number, now = clock()): void {
    this.refill(now);
    this.tokens -= cost;
  }

  /** The tokens saved up now: negative while in debt. */
  saved(now = clock()): number {
    this.refill(now);
    return this.tokens;
  }

  /** True when, after a successful `take` of `cost`, the bucket had its whole burst saved up: its user kept under the rate. */
  rested(cost = 1): boolean {
    return this.tokens >= this.burst - cost;
  }

  private refill(now: number): void {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
      this.last = now;
    }
  }
}
