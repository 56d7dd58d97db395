import { create, fromBinary } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import { ErrorResponseSchema, SignalResponseSchema, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { codeName, errorIdOf, type ErrorId } from "../errors.js";
import type { Metrics } from "../metrics/metrics.js";
import { responseCaseOf } from "../protocol/message-case.js";
import { GCM_TAG_BYTES } from "../protocol/pq/algorithms.js";
import { appendMessageId, messageIdFieldSize, writeMessageIdField } from "../protocol/message-id.js";
import { secureResponseFrame } from "../protocol/relay-frames.js";
import { encodePlaintext } from "../protocol/signal-codec.js";
import type { PqChannel } from "./pq-channel.js";
import type { SignalTransport } from "./signal-transport.js";

/**
 * Frames of mailbox deliveries come from Node's buffer pool, not zeroed: a fresh zeroed backing store per
 * relayed message cost the relay a few percent of its CPU. A frame lives only until it is written, and every
 * byte of it is written before it leaves: a record's header by `secureResponseFrame`, then the plaintext, its
 * message id and the tag (see `sendSealed`; a relay-frames test holds that against a frame from dirty
 * memory); a plaintext frame is the message and its id (`appendMessageId`).
 */
const pooledFrame = (size: number): Uint8Array => Buffer.allocUnsafe(size);

/** Limits whose refusals are counted where they are answered (the others are counted where they trip). */
const LIMIT_ERRORS = new Set<ErrorId>(["room_full", "too_many_rooms", "field_too_large", "discover_too_many"]);

/**
 * Everything a session sends, encoded for its connection: encrypted as a `secure` record once the PQ
 * channel exists, in the connection's format. On binary connections the hot path (mailbox deliveries)
 * never decodes: the relayed bytes get their message id appended, are sealed, and the record is framed by
 * hand.
 */
export class SessionOutbound {
  constructor(
    private readonly transport: SignalTransport,
    private readonly pq: PqChannel | undefined,
    private readonly metrics: Metrics,
  ) {}

  /** A message the session produced itself; encrypted when the channel is established. */
  send(response: SignalResponse): void {
    this.metrics.countMessage(response.message.case ?? "none", "out");
    if (!this.pq?.established) {
      // Without PQ, or before the channel exists (handshake messages, `error`, `leave`): in the clear.
      this.transport.send(response);
      return;
    }
    this.sendSealed(this.pq, encodePlaintext(SignalResponseSchema, response, this.transport.format()), 0n);
  }

  /** A mailbox message (binary SignalResponse without message_id) with its id. */
  sendDelivered(messageId: bigint, response: Uint8Array): void {
    const transport = this.transport;
    if (transport.format() !== "protobuf") {
      const decoded = fromBinary(SignalResponseSchema, response);
      decoded.messageId = messageId;
      this.send(decoded);
      return;
    }
    this.metrics.countMessage(responseCaseOf(response), "out");
    if (this.pq?.established) return this.sendSealed(this.pq, response, messageId);
    const plaintext = appendMessageId(response, messageId, transport.frameAllocator ?? pooledFrame);
    if (transport.sendEncoded) transport.sendEncoded(plaintext);
    else transport.send(fromBinary(SignalResponseSchema, plaintext), plaintext.length);
  }
  sendError(error: ConnectError, requestId: number): void {
    this.metrics.errorsSent.inc({ code: codeName(error.code) });
    const id = errorIdOf(error);
    if (id !== undefined && LIMIT_ERRORS.has(id)) this.metrics.limitsHit.inc({ limit: id });
    this.send(create(SignalResponseSchema, {
      requestId,
      message: { case: "error", value: create(ErrorResponseSchema, { code: codeName(error.code), message: error.rawMessage, reason: id ?? "" }) },
    }));
  }

  /**
   * `plaintext` ‖ message_id as the next record. On binary connections the frame is laid out by hand and its
   * tail filled and sealed where it lies (one buffer per record); elsewhere it becomes a decoded `secure`.
   */
  private sendSealed(pq: PqChannel, plaintext: Uint8Array, messageId: bigint): void {
    const transport = this.transport;
    if (transport.sendEncoded && transport.format() === "protobuf") {
      const length = plaintext.length + messageIdFieldSize(messageId);
      const frame = secureResponseFrame(pq.sendEpoch, pq.sendSeq, length + GCM_TAG_BYTES, transport.frameAllocator ?? pooledFrame);
      const at = frame.length - length - GCM_TAG_BYTES;
      frame.set(plaintext, at);
      writeMessageIdField(frame, at + plaintext.length, messageId);
      pq.sealInPlace(frame.subarray(at));
      transport.sendEncoded(frame);
      return;
    }
    const record = pq.seal(appendMessageId(plaintext, messageId));
    transport.send(create(SignalResponseSchema, { message: { case: "secure", value: record } }));
  }
}
