import type { Metrics } from "../metrics/metrics.js";

/** Where a connection gives its slot back (the IP it was counted under). */
export interface ConnectionSlots {
  acquire(ip: string): boolean;
  /** Call once per successful `acquire`, with the same IP. */
  release(ip: string): void;
}

/**
 * Caps open signal connections in total and per client IP. Slots are released by IP, not through a
 * function per connection: an idle connection then keeps no closure for it.
 */
export class ConnectionLimiter implements ConnectionSlots {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  constructor(private readonly maxTotal: number, private readonly maxPerIp: number, private readonly metrics: Metrics) {}

  /** Counts a new connection; false (and nothing counted) when a limit is reached. */
  acquire(ip: string): boolean {
    const mine = this.perIp.get(ip) ?? 0;
    if (this.total >= this.maxTotal) {
      this.metrics.limitsHit.inc({ limit: "connections" });
      return false;
    }
    if (mine >= this.maxPerIp) {
      this.metrics.limitsHit.inc({ limit: "connections_per_ip" });
      return false;
    }
    this.total++;
    this.perIp.set(ip, mine + 1);
    return true;
  }

  release(ip: string): void {
    const n = this.perIp.get(ip);
    // Never below zero, whatever a caller does: a count that drifted down would lift the limits.
    if (n === undefined) return;
    this.total--;
    if (n <= 1) this.perIp.delete(ip);
    else this.perIp.set(ip, n - 1);
  }
}
