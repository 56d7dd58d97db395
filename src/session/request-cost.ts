import type { SignalRequest } from "../../gen/volly/signaling/v1/signal_pb.js";
import type { LimitConfig } from "../config.js";

/** Identities of a `discover` that cost as much as one message: a lookup each, in the store every node shares. */
export const IDENTITIES_PER_TOKEN = 10;

/**
 * Tokens of the message rate that `request` takes. Most requests take one. A `discover` takes one per
 * `IDENTITIES_PER_TOKEN` identities (at least one), since each identity is a presence lookup: at the message
 * rate, 100 identities a request were 20,000 lookups a second from one connection. One over the batch limit
 * takes one token, as it is refused without a lookup; and none costs more than the burst, which would
 * refuse it for good.
 */
export function tokensFor(request: SignalRequest, limits: LimitConfig): number {
  if (request.message.case !== "discover") return 1;
  const identities = request.message.value.identities.length;
  if (identities > limits.maxDiscover) return 1;
  return Math.min(limits.messageBurst, Math.max(1, Math.ceil(identities / IDENTITIES_PER_TOKEN)));
}
