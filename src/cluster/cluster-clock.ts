/**
 * Epoch milliseconds on the deployment's one clock: what is stored in the store or judged across nodes
 * (deadlines, TTL bases, heartbeats, presence, joined_at, ...). With Redis that is Redis's clock (`TIME`):
 * node clocks may disagree by seconds, or step (NTP, a VM resumed), and a time one node wrote is judged by
 * whichever node reads it. With the memory store there is one process and nothing to disagree with: its
 * reference is the host's wall clock, followed within a heartbeat when NTP steps it.
 */
export interface Clock {
  /** Now, in epoch milliseconds. Cheap: called per message (no allocation, never awaits). */
  now(): number;
}

/** Reads the reference clock (epoch milliseconds); rejects when it cannot be read. */
export type TimeSource = () => Promise<number>;

/** The monotonic clock `ClusterClock` runs on between anchorings (milliseconds, any origin). */
export type MonotonicSource = () => number;

/** This host's wall clock as a reference: the memory store's (one process, nothing to disagree with). */
const wallClock: TimeSource = () => Promise.resolve(Date.now());

/**
 * How far apart two readings of the same instant may be for their resolution alone (`Date.now()` is whole
 * milliseconds): re-anchoring on that would make `now()` jitter, and step back by a millisecond at times.
 */
const READING_RESOLUTION_MS = 1;

/**
 * A `Clock` anchored to a reference (Redis `TIME`, or the host's wall clock without Redis) and monotonic
 * between anchorings: `now()` is the monotonic clock plus an offset measured by `sync()`, so a step of this
 * machine's wall clock never moves it unless that clock is the reference, and then only at the next `sync()`.
 * Without a source it is anchored once, to this process's wall clock at construction.
 */
export class ClusterClock implements Clock {
  private offset: number;
  private anchored: boolean;

  constructor(
    private readonly source?: TimeSource,
    private readonly monotonic: MonotonicSource = () => performance.now(),
    wallNow: number = Date.now(),
    /** What the source reads, for logs. */
    readonly reference = "redis TIME",
  ) {
    this.offset = wallNow - monotonic();
    // Without a source the wall clock at construction is the anchor for good.
    this.anchored = source === undefined;
  }

  /** A clock whose reference is this host's wall clock (the memory store's), not yet anchored to it. */
  static onWallClock(monotonic?: MonotonicSource): ClusterClock {
    return new ClusterClock(wallClock, monotonic, undefined, "this host's wall clock");
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
   * through it). Resolves with how far `now()` moved (0 when the reading is within the round trip's error and
   * the reading's resolution of the current anchor: re-anchoring on noise would make `now()` jitter). A no-op
   * without a source; rejects when the source does.
   */
  async sync(): Promise<number> {
    if (this.source === undefined) return 0;
    const sent = this.monotonic();
    const reference = await this.source();
    const received = this.monotonic();
    const halfTrip = (received - sent) / 2;
    const offset = reference + halfTrip - received;
    const moved = offset - this.offset;
    if (this.anchored && Math.abs(moved) <= halfTrip + READING_RESOLUTION_MS) return 0;
    this.offset = offset;
    this.anchored = true;
    return moved;
  }
}
