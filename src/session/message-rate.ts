import { DisconnectReason, LeaveAction } from "../../gen/volly/signaling/v1/models_pb.js";
import { errors } from "../errors.js";
import type { SignalSession } from "./signal-session.js";
import { TokenBucket } from "./token-bucket.js";

/**
 * A connection's message rate (docs/protocol.md §6): a token bucket, and the rule that tells a burst from a
 * flood. A bucket itself rather than the holder of one: one object per connection instead of two, which idle
 * participants add up.
 */
export class MessageRate extends TokenBucket {
  /** Requests refused since the client last kept under the rate. */
  private dropped = 0;

  constructor(private readonly s: SignalSession) {
    super(s.svc.config.limits.messagesPerSecond, s.svc.config.limits.messageBurst);
  }

  /**
   * Takes `cost` tokens (see `tokensFor`); otherwise refuses request `requestId` with `rate_limited`, and ends
   * the connection once more than a burst's worth were refused without the client ever slowing down enough to
   * save its whole burst up again (a flood, not a burst).
   */
  admit(requestId: number, cost = 1): boolean {
    if (this.take(cost)) {
      if (this.dropped > 0 && this.rested(cost)) this.dropped = 0;
      return true;
    }
    const { svc } = this.s;
    svc.metrics.limitsHit.inc({ limit: "messages_per_second" });
    const error = errors.rateLimited();
    if (++this.dropped > svc.config.limits.messageBurst) {
      this.s.end({ reason: DisconnectReason.LIMIT_EXCEEDED, action: LeaveAction.DISCONNECT, error, dispose: "leave", requestId });
    } else this.s.sendError(error, requestId);
    return false;
  }
}
