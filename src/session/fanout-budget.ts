import { DisconnectReason, LeaveAction, type ParticipantInfo } from "../../gen/volly/signaling/v1/models_pb.js";
import type { DataMessage } from "../../gen/volly/signaling/v1/signal_pb.js";
import { errors } from "../errors.js";
import type { SignalSession } from "./signal-session.js";
import { TokenBucket } from "./token-bucket.js";

/**
 * What one connection's broadcasts may cost the node, per second. The message rate counts requests, and one
 * request to the room is delivered (encrypted, queued, written) once per recipient: at the message rate, 16 KiB
 * room-wide `data` or 128 KiB `update_metadata` in a room of 100 had one sender make the node send gigabytes
 * and slowed every other room. So a broadcast is charged its bytes times its recipients, from a token bucket
 * of `VOLLY_MAX_FANOUT_BYTES_PER_SECOND` bytes that holds one second's worth.
 *
 * The recipients are known only once the broadcast went out (the store counts them as it queues): the
 * charge is made then, and may put the budget into debt. A broadcast is let through while the budget is not
 * spent, so the first one always goes, whatever its size, and no store read is made before it; while in
 * debt every broadcast is refused (`rate_limited`) and nothing of it is delivered. Over time a connection
 * is held to the rate, plus one broadcast. Messages to one participant are not charged: the message rate
 * already bounds what they cost.
 *
 * Refusals end the connection as those of the message rate do (SessionInbound.admitted): once more than
 * `VOLLY_MESSAGE_BURST` of them come without the budget ever filling up again in between (a flood that
 * ignores the refusals, not an app that slows down).
 */
export class FanoutBudget {
  private readonly bucket: TokenBucket;
  private refused = 0;

  constructor(private readonly s: SignalSession, private readonly bytesPerSecond = s.svc.config.limits.maxFanoutBytesPerSecond) {
    this.bucket = new TokenBucket(bytesPerSecond, bytesPerSecond);
  }

  /** True when a broadcast may go out now; otherwise refuses request `requestId` (and ends a flood). */
  admitted(requestId: number): boolean {
    const saved = this.bucket.saved();
    if (saved > 0) {
      if (this.refused > 0 && saved >= this.bytesPerSecond) this.refused = 0;
      return true;
    }
    const { svc } = this.s;
    svc.metrics.limitsHit.inc({ limit: "fanout_bytes" });
    const error = errors.rateLimited(this.bytesPerSecond);
    if (++this.refused > svc.config.limits.messageBurst) {
      this.s.end({ reason: DisconnectReason.LIMIT_EXCEEDED, action: LeaveAction.DISCONNECT, error, dispose: "leave", requestId });
    } else this.s.sendError(error, requestId);
    return false;
  }

  /** Charges a broadcast that went out: `bytes` to each of `recipients`. */
  charge(bytes: number, recipients: number): void {
    if (recipients > 0) this.bucket.spend(bytes * recipients);
  }
}

/** What a room-wide `data` message costs per recipient: what its sender chose to put in it. */
export function dataBytes(d: DataMessage): number {
  return d.payload.length + Buffer.byteLength(d.topic) + Buffer.byteLength(d.id);
}

/**
 * What a participant's announced change costs per recipient: its whole description (metadata, name and
 * attributes), which every `participant_update` carries, not just the fields the request changed. Charged
 * by the changed fields alone, a one-letter rename of a participant with 128 KiB of metadata would cost
 * next to nothing and still send the 128 KiB to everyone.
 */
export function descriptionBytes(info: ParticipantInfo): number {
  let bytes = Buffer.byteLength(info.metadata) + Buffer.byteLength(info.name);
  for (const [key, value] of Object.entries(info.attributes)) bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  return bytes;
}
