import { Code, ConnectError } from "@connectrpc/connect";
import { DisconnectReason, LeaveAction } from "../../gen/volly/signaling/v1/models_pb.js";
import type { LeaveRequest } from "../../gen/volly/signaling/v1/signal_pb.js";

/** What a server `leave` asks the client to do: resume the participant, join again, or stay away. */
export type LeaveOutcome = "resume" | "rejoin" | "disconnect";

/** The SDK's reading of `leave.action` (docs/protocol.md §3, "Closing"). */
export function leaveOutcome(action: LeaveAction): LeaveOutcome {
  if (action === LeaveAction.RESUME) return "resume";
  if (action === LeaveAction.RECONNECT) return "rejoin";
  return "disconnect";
}

/** `DisconnectReason.CLIENT_INITIATED` → "client_initiated". */
export function reasonName(reason: DisconnectReason): string {
  return (DisconnectReason[reason] ?? "unknown").toLowerCase();
}

/**
 * A connection attempt refused with `leave` (e.g. `STATE_MISMATCH`/`RECONNECT` for a participant that can no
 * longer be resumed): a `ConnectError` with the code of the `error` that came before it, and the `leave` itself.
 */
export class LeaveRefusal extends ConnectError {
  constructor(readonly leave: LeaveRequest, cause: ConnectError | undefined) {
    // The cause's metadata carries the server's error id (`errorReasonOf`): `room_full` must stay tellable
    // from the other ResourceExhausted refusals of a join.
    super(cause?.rawMessage ?? (leave.message || `refused: ${reasonName(leave.reason)}`), cause?.code ?? Code.Unavailable, cause?.metadata, undefined, cause);
  }

  /**
   * ConnectError's own `instanceof` accepts any ConnectError-shaped value, and a subclass inherits it: without
   * this, every failed attempt would pass for a refusal (and its missing `leave` would throw in the reconnector).
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && Object.prototype.isPrototypeOf.call(LeaveRefusal.prototype, value);
  }
}
