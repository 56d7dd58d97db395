/**
 * The bytes a participant was sent and has not acknowledged, as its mailbox keeps them: the newest `capacity`
 * messages at most (the store drops older ones, acknowledged or not, so they no longer pin anything).
 * Node-local: the node that holds the connection sees every message it delivers and every ack, whichever
 * store is live, so it can bound what the mailbox holds in either.
 *
 * A ring of (id, size) pairs in one typed array, grown by doubling and dropped whenever everything is
 * acknowledged: a client that acknowledges keeps a few dozen entries for a moment, an idle one none, and
 * counting a delivery allocates nothing.
 */
export class UnackedWindow {
  private ring: Float64Array | undefined;
  private head = 0;
  private count = 0;
  private bytes = 0;

  constructor(private readonly capacity: number) {}

  /** The unacknowledged bytes still kept. */
  get total(): number {
    return this.bytes;
  }

  /** Counts message `id` (higher than every id before it) of `size` bytes; returns the new total. */
  add(id: bigint, size: number): number {
    // The mailbox keeps `capacity` messages: the oldest one just left it, acknowledged or not.
    if (this.count === this.capacity) this.dropOldest();
    let ring = this.ring;
    if (ring === undefined || this.count * 2 === ring.length) ring = this.grow();
    const slot = ((this.head + this.count) * 2) % ring.length;
    ring[slot] = Number(id);
    ring[slot + 1] = size;
    this.count++;
    this.bytes += size;
    return this.bytes;
  }

  /** The client acknowledged every message up to `upTo`. */
  acknowledge(upTo: bigint): void {
    const ring = this.ring;
    if (ring === undefined) return;
    const last = Number(upTo);
    while (this.count > 0 && ring[this.head * 2] <= last) this.dropOldest();
    if (this.count === 0) {
      this.ring = undefined;
      this.head = 0;
      this.bytes = 0;
    }
  }

  private dropOldest(): void {
    const ring = this.ring as Float64Array;
    this.bytes -= ring[this.head * 2 + 1];
    this.head = (this.head + 1) % (ring.length / 2);
    this.count--;
  }

  private grow(): Float64Array {
    const old = this.ring;
    // Twice the entries: `old` holds two numbers per entry.
    const entries = Math.min(this.capacity, old === undefined ? INITIAL_ENTRIES : old.length);
    const ring = new Float64Array(entries * 2);
    if (old !== undefined) {
      for (let i = 0; i < this.count; i++) {
        const from = ((this.head + i) * 2) % old.length;
        ring[i * 2] = old[from];
        ring[i * 2 + 1] = old[from + 1];
      }
    }
    this.ring = ring;
    this.head = 0;
    return ring;
  }
}

/** A joined participant is sent a few messages before its first ack; a busier one doubles it as it goes. */
const INITIAL_ENTRIES = 4;
