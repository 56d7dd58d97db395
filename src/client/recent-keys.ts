/**
 * The most recent `capacity` keys seen, oldest forgotten first: how receivers recognise a message delivered
 * again (a resent request, a replay) in bounded memory.
 */
export class RecentKeys {
  private readonly keys = new Set<string>();

  constructor(private readonly capacity: number) {}

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Remembers `key`; false when it was already among the recent keys (a repeat). */
  add(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.capacity) {
      // A Set iterates in insertion order, so its first key is the oldest.
      const oldest = this.keys.values().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    return true;
  }
}
