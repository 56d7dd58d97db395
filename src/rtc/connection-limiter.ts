import type { Metrics } from "../metrics/metrics.js";

/** Caps open signal connections in total and per client IP. */
export class ConnectionLimiter {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  constructor(private readonly maxTotal: number, private readonly maxPerIp: number, private readonly metrics: Metrics) {}

  /** Counts a new connection; returns its release function, or undefined when a limit is reached. */
  acquire(ip: string): (() => void) | undefined {
    const mine = this.perIp.get(ip) ?? 0;
    if (this.total >= this.maxTotal) {
      this.metrics.limitsHit.inc({ limit: "connections" });
      return undefined;
    }
    if (mine >= this.maxPerIp) {
      this.metrics.limitsHit.inc({ limit: "connections_per_ip" });
      return undefined;
    }
    this.total++;
    this.perIp.set(ip, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, n);
    };
  }
}
