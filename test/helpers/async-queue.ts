/** A queue that can be awaited: producers push, consumers take in order (with a timeout). */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<(v: IteratorResult<T>) => void> = [];
  private ended = false;

  push(item: T): void {
    const w = this.waiters.shift();
    if (w) w({ value: item, done: false });
    else this.items.push(item);
  }

  end(): void {
    this.ended = true;
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Items already received and not yet taken. */
  pending(): readonly T[] {
    return this.items;
  }

  /** Takes the next item; rejects after `timeoutMs` or when the queue ends. */
  async take(timeoutMs = 5000, what = "message"): Promise<T> {
    const next = this.items.shift();
    if (next !== undefined) return next;
    if (this.ended) throw new Error(`queue ended while waiting for ${what}`);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const waiter = (r: IteratorResult<T>) => {
        clearTimeout(timer);
        if (r.done) reject(new Error(`queue ended while waiting for ${what}`));
        else resolve(r.value);
      };
      this.waiters.push(waiter);
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.items.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.waiters.push(resolve));
      },
    };
  }
}
