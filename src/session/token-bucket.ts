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

  /** Takes one token; false when none is left. */
  take(now = clock()): boolean {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** True when, after a successful `take`, the bucket had its whole burst saved up: its user kept under the rate. */
  rested(): boolean {
    return this.tokens >= this.burst - 1;
  }
}
