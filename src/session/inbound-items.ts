import { fromBinary } from "@bufbuild/protobuf";
import { SignalRequestSchema, type SignalRequest } from "../../gen/volly/signaling/v1/signal_pb.js";
import { errors } from "../errors.js";
import type { CodecError } from "../protocol/signal-codec.js";
import type { RecordFields } from "./pq-channel.js";

// What a session's inbound queue holds, and the checks every request of a post-quantum channel passes.

/** A request as it arrived: decoded (gRPC, JSON frames), or the bytes of a binary WebSocket frame. */
export type InboundRequest = SignalRequest | Uint8Array;

/** A frame over the size limit on a post-quantum channel, queued so that its record is read in its turn. */
export class OversizedRecord {
  constructor(readonly size: number, readonly request: InboundRequest) {}
}

/**
 * A WebSocket frame of the other kind than the connection's format (binary on a text connection, text on a
 * protobuf one): read as usual during the handshake, fatal once the channel is up (docs/protocol.md §2).
 */
export class OtherKindFrame {
  constructor(readonly request: InboundRequest) {}
}

/**
 * A frame the transport could not decode. Queued like a request, so that its `error` comes after the answers
 * to the requests sent before it: clients may match answers by order as well as by `request_id`.
 */
export class MalformedFrame {
  constructor(readonly error: CodecError) {}
}

/**
 * Where the queue overflowed: what arrived past a full queue was never read, and the session ends here, once
 * the requests before it have been answered (or refused by the rate limit, which usually ends a flood first).
 */
export class QueueOverflow {
  static readonly mark = new QueueOverflow();
  // A member of its own, or the empty type would match every request when `instanceof` narrows.
  readonly kind = "queue-overflow";
  private constructor() {}
}

/**
 * The join of a connection without PQ, first in its queue: what the client sends meanwhile waits for it, as it
 * waits for the handshake with PQ, however many store round trips the join takes (docs/protocol.md §3).
 */
export class Entry {
  constructor(readonly run: () => Promise<void>) {}
}

export type Inbound = InboundRequest | OversizedRecord | OtherKindFrame | MalformedFrame | QueueOverflow | Entry;

/** The id a refusal of `item` repeats before it is decoded: 0 for bytes not read yet. */
export function requestIdOf(item: Inbound): number {
  const arrived = item instanceof OtherKindFrame ? item.request : item;
  if (arrived instanceof MalformedFrame) return arrived.error.requestId;
  return arrived instanceof Uint8Array || arrived instanceof OversizedRecord || arrived instanceof QueueOverflow || arrived instanceof Entry ? 0 : arrived.requestId;
}

/** A binary frame as a whole SignalRequest, or `malformed_message`. */
export function decodeOuter(bytes: Uint8Array): SignalRequest {
  try {
    return fromBinary(SignalRequestSchema, bytes);
  } catch {
    throw errors.malformedMessage("not a valid protobuf frame");
  }
}

/** The record of a request on an established channel; anything else is a plaintext signal, refused. */
export function recordOf(request: SignalRequest): RecordFields {
  // A connection has exactly one handshake; anything else in the clear is a downgrade attempt.
  if (request.message.case === "pqHandshake") throw errors.pqHandshakeDuplicate();
  // Nothing in the clear, so no downgrade: refused as before the handshake.
  if (request.message.case === undefined) throw errors.malformedMessage("empty message");
  if (request.message.case !== "secure") throw errors.pqRequired();
  return request.message.value;
}

/** Whether `r` is one of the channel's own messages (handshake, record, rekey). */
export function isPqMessage(r: SignalRequest): boolean {
  const c = r.message.case;
  return c === "pqHandshake" || c === "pqFinished" || c === "secure" || c === "rekey";
}
