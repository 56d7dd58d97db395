/**
 * When a batcher's pending batch goes to Redis: at the end of the event-loop turn in which it started
 * (`setImmediate` runs after the turn's I/O callbacks, so an idle node adds no wait while a busy one
 * collects every connection that was readable), unless a batch is still on its way; then when that batch
 * is answered. A busy node thus sends fewer, larger batches, as many as Redis can answer; a quiet one
 * never waits. A batcher also sends at once when its batch is full, whatever the pacer says.
 */
export class BatchPacer {
  private scheduled = false;
  /** Batches sent and not answered yet. */
  private inFlight = 0;

  /**
   * `send` sends the pending batch, if any (through `sent`). With `holdMs`, a batch that started pending
   * waits that long instead of to the end of the turn (for work nobody waits on, see AckBatcher).
   */
  constructor(private readonly send: () => void, private readonly holdMs = 0) {}

  /** A batch has started pending: it goes at the end of this turn (or after `holdMs`), or after the batch in flight. */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const due = () => {
      this.scheduled = false;
      if (this.inFlight === 0) this.send();
    };
    if (this.holdMs > 0) setTimeout(due, this.holdMs).unref();
    else setImmediate(due);
  }

  /** A batch was sent with this reply; the next pending one goes once no batch is in flight. */
  sent<T>(reply: Promise<T>): Promise<T> {
    this.inFlight++;
    return reply.finally(() => {
      this.inFlight--;
      if (this.inFlight === 0) this.send();
    });
  }
}
