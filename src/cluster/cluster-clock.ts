/**
 * Epoch milliseconds on the deployment's one clock: what is stored in the store or judged across nodes
 * (deadlines, TTL bases, heartbeats, presence, joined_at, ...). With Redis that is Redis's clock (`TIME`):
 * node clocks may disagree by seconds, or step (NTP, a VM resumed), and a time one node wrote is judged by
 * whichever node reads it. With the memory store there is one process and nothing to disagree with.
 */
export interface Clock {
  /** Now, in epoch milliseconds. Cheap: called per message (no allocation, never awaits). */
  now(): number;
}

/** Reads the reference clock (epoch milliseconds); rejects when it cannot be read. */
export type TimeSource = () => Promise<number>;

/** The monotonic clock `ClusterClock` runs on between anchorings (milliseconds, any origin). */
export type MonotonicSource = () => number;

/**
 * A `Clock` anchored to a reference (Redis `TIME`) and monotonic between anchorings: `now()` is the
 * monotonic clock plus an offset measured by `sync()`, so a step of this machine's wall clock never moves
 * it. Without a source it is anchored once, to this process's wall clock at construction.
 */
export class ClusterClock implements Clock {
  private offset: number;
  private anchored: boolean;

  constructor(
    private readonly source?: TimeSource,
    private readonly monotonic: MonotonicSource = () => performance.now(),
    wallNow: number = Date.now(),
  ) {
    this.offset = wallNow - monotonic();
    // Without a source the wall clock at construction is the anchor for good.
    this.anchored = source === undefined;
  }

  now(): number {
    return Math.floor(this.monotonic() + this.offset);
  }

  /** Whether `now()` is anchored to the reference (always, without a source). */
  get isAnchored(): boolean {
    return this.anchored;
  }

  /**
   * Re-anchors to the source, corrected by half the round trip (the reading is taken, on average, halfway
   * through it). Resolves with how far `now()` moved (0 when the reading is within the round trip's error of
   * the current anchor: re-anchoring on noise would make `now()` jitter). A no-op without a source; rejects
   * when the source does.
   */
  async sync(): Promise<number> {
    if (this.source === undefined) return 0;
    const sent = this.monotonic();
    const reference = await this.source();
    const received = this.monotonic();
    const halfTrip = (received - sent) / 2;
    const offset = reference + halfTrip - received;
    const moved = offset - this.offset;
    if (this.anchored && Math.abs(moved) <= halfTrip) return 0;
    this.offset = offset;
    this.anchored = true;
    return moved;
  }
}
