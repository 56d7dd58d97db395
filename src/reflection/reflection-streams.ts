import type { HandlerContext } from "@connectrpc/connect";
import { errors } from "../errors.js";
import type { Metrics } from "../metrics/metrics.js";
import { CLOSE_GRACE_MS, callStream, type CallStream } from "../http/call-stream.js";

export interface ReflectionStreamLimits {
  /** Streams open at once on the node (both ports together). */
  readonly maxStreams: number;
  /** A stream that receives no request message for this long is ended. */
  readonly idleMs: number;
}

/**
 * The bounds of a node's gRPC reflection streams. Reflection needs no token and a stream lives as long as
 * its client asks questions, so the listener's request deadline cannot apply (a tool asks any number of
 * questions on one stream); instead each stream has an idle deadline, restarted by every request message,
 * and the node holds a bounded number of streams at once. A reflection client opens one stream, asks a few
 * questions and closes it, so neither bound is felt in use.
 */
export class ReflectionStreams {
  private open = 0;

  constructor(private readonly limits: ReflectionStreamLimits, private readonly metrics: Metrics) {}

  /**
   * The request messages of one stream, within the bounds: throws `too_many_reflection_streams` at once
   * when the node holds its maximum, and `reflection_idle` when no message arrives within the idle
   * deadline. A client whose answers are still being written at the deadline would never see that error
   * (it waits behind them), so its stream is cancelled instead.
   */
  async *requests<T>(requests: AsyncIterable<T>, ctx: HandlerContext): AsyncGenerator<T> {
    const transport = ctx.values.get(callStream);
    if (this.open >= this.limits.maxStreams) {
      this.metrics.limitsHit.inc({ limit: "reflection_streams" });
      transport?.closeWithin(CLOSE_GRACE_MS);
      throw errors.tooManyReflectionStreams(this.limits.maxStreams);
    }
    this.open++;
    // A slot is the stream's until the stream is gone, not just until the call is over: one left open by
    // its client after the last answer still holds the server's memory.
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      this.open--;
    };
    if (transport !== undefined) transport.onClose(release);
    else ctx.signal.addEventListener("abort", release, { once: true });
    const wait = new RequestWait(this.limits.idleMs, ctx, transport);
    try {
      const it = requests[Symbol.asyncIterator]();
      for (;;) {
        const next = await wait.next(it);
        if (next.done === true) return;
        yield next.value;
      }
    } finally {
      wait.dispose();
      transport?.closeWithin(CLOSE_GRACE_MS);
    }
  }
}

/** The idle deadline of one stream, and the wait for its next request message. */
class RequestWait {
  private readonly timer: NodeJS.Timeout;
  private expired = false;
  /** Rejects the wait in progress; undefined while none is (an answer is being written). */
  private fail: ((e: unknown) => void) | undefined;
  private readonly onAbort = () => this.fail?.(this.ctx.signal.reason);

  constructor(private readonly idleMs: number, private readonly ctx: HandlerContext, private readonly transport: CallStream | undefined) {
    this.timer = setTimeout(() => this.expire(), idleMs);
    this.timer.unref();
    ctx.signal.addEventListener("abort", this.onAbort);
  }

  async next<T>(it: AsyncIterator<T>): Promise<IteratorResult<T>> {
    if (this.expired) throw this.idleError();
    const next = await new Promise<IteratorResult<T>>((resolve, reject) => {
      this.fail = reject;
      it.next().then(resolve, reject);
    });
    this.fail = undefined;
    if (next.done !== true) this.timer.refresh();
    return next;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.fail = undefined;
    this.ctx.signal.removeEventListener("abort", this.onAbort);
  }

  private expire(): void {
    this.expired = true;
    if (this.fail !== undefined) this.fail(this.idleError());
    else this.transport?.cancel();
  }

  private idleError() {
    return errors.reflectionIdle(Math.round(this.idleMs / 1000));
  }
}
