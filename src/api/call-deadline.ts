import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { errors } from "../errors.js";

/**
 * Whether a handler's abort signal fired because the client's deadline (`grpc-timeout`,
 * `connect-timeout-ms`) passed: connect-es aborts with a deadline_exceeded ConnectError then, and with
 * anything else when the client cancels or goes away.
 */
export function isDeadline(reason: unknown): boolean {
  return reason instanceof ConnectError && reason.code === Code.DeadlineExceeded;
}

/**
 * `work`, or the catalogue's `call_deadline` once the client's deadline passes, whichever comes first.
 * connect-es fires the deadline on the context's signal but still waits for a unary implementation, so a
 * stalled store would otherwise hold the answer for its own (longer) timeout. The work is not undone: a
 * store command already sent may still take effect, which the error's message says.
 */
export function untilDeadline<T>(ctx: HandlerContext, work: Promise<T>): Promise<T> {
  if (ctx.timeoutMs() === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      if (isDeadline(ctx.signal.reason)) reject(errors.callDeadline("call"));
    };
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => ctx.signal.removeEventListener("abort", onAbort));
  });
}
