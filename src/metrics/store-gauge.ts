import type { Gauge } from "prom-client";

/**
 * A gauge read from the store when it is scraped, where the store may be down or stalled (Redis). A read
 * that fails sets nothing: the gauge keeps the last value read, because any value it would make up (0)
 * says that what it counts is gone, and a store incident is when operators read it. A read slower than
 * `waitMs` is not waited for (a stalled Redis answers only at its command timeout, seconds later, and each
 * scrape would take that long): the scrape reports the last value, and the read, still running, sets the
 * gauge when it ends. One read at a time: a scrape during a slow read waits on that one.
 */
export class StoreGauge {
  private reading: Promise<void> | undefined;

  constructor(private readonly gauge: Gauge, private readonly waitMs: number) {}

  async refresh(read: () => Promise<number>): Promise<void> {
    // Cleared in a callback, which runs after the assignment even when `read` throws at once.
    const reading = (this.reading ??= this.readOnce(read).finally(() => (this.reading = undefined)));
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.waitMs)));
    await Promise.race([reading, waited]);
    clearTimeout(timer);
  }

  private async readOnce(read: () => Promise<number>): Promise<void> {
    try {
      this.gauge.set(await read());
    } catch {
      // The last value stands (see above); /healthz and volly_redis_up report the store itself.
    }
  }
}
