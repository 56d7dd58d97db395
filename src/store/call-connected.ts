import type { StoredCall } from "../../gen/volly/signaling/v1/internal_pb.js";

/** What `addConnected` did to a call. */
export type ConnectedChange = "unchanged" | "added" | "established";

/**
 * Adds `identity` to `call.connected` (in place) when it is the caller or the callee and not there yet.
 * `established`: that made both parties connected, and `connected_at` is now `now`. The one rule both
 * stores apply inside their atomic `addCallConnected`, so exactly one report completes a call.
 */
export function addConnected(call: StoredCall, identity: string, now: number): ConnectedChange {
  if ((identity !== call.caller && identity !== call.callee) || call.connected.includes(identity)) return "unchanged";
  call.connected.push(identity);
  if (!call.connected.includes(call.caller) || !call.connected.includes(call.callee)) return "added";
  call.connectedAt = BigInt(now);
  return "established";
}
