import { DisconnectReason, LeaveAction } from "../../gen/volly/signaling/v1/models_pb.js";
import { errors } from "../errors.js";
import type { UnackedLimit } from "./delivery-cursor.js";
import type { NodeServices } from "./node-services.js";
import type { SignalSession } from "./signal-session.js";

/** One per node, not per connection: a cursor lives as long as its connection and shares it. */
const limits = new WeakMap<NodeServices, UnackedLimit<SignalSession>>();

/**
 * `VOLLY_MAX_UNACKED_BYTES` for the cursors of `svc`'s node. A participant past it is disconnected, not
 * resumed: its mailbox would replay everything it left unacknowledged and trip the limit again. Leaving
 * drops the mailbox at once, in memory or in Redis.
 */
export function unackedLimitOf(svc: NodeServices): UnackedLimit<SignalSession> {
  let limit = limits.get(svc);
  if (limit === undefined) {
    const maxBytes = svc.config.limits.maxUnackedBytes;
    limit = {
      maxBytes,
      window: svc.config.resume.queueLimit,
      exceeded(s) {
        // Deliveries already under way reach a session that is ending: the limit trips once.
        if (s.closed) return;
        svc.metrics.limitsHit.inc({ limit: "unacked_bytes" });
        s.end({ reason: DisconnectReason.SLOW_CONSUMER, action: LeaveAction.DISCONNECT, error: errors.unackedLimit(maxBytes), dispose: "leave" });
      },
    };
    limits.set(svc, limit);
  }
  return limit;
}
