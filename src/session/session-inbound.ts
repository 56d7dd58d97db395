import { fromBinary } from "@bufbuild/protobuf";
import { DisconnectReason, LeaveAction } from "../../gen/volly/signaling/v1/models_pb.js";
import { SignalRequestSchema, type SignalRequest } from "../../gen/volly/signaling/v1/signal_pb.js";
import { errors } from "../errors.js";
import { parseRelayRequest, parseSecureRequest, senderFields, type RelayRequest } from "../protocol/relay-frames.js";
import { CodecError, decodePlaintext } from "../protocol/signal-codec.js";
import type { Sender } from "../room/relay.js";
import { decodeOuter, Entry, isPqMessage, MalformedFrame, OtherKindFrame, OversizedRecord, QueueOverflow, recordOf, requestIdOf, type Inbound, type InboundRequest } from "./inbound-items.js";
import { MessageRate } from "./message-rate.js";
import type { PqChannel } from "./pq-channel.js";
import { tokensFor } from "./request-cost.js";
import type { SignalSession } from "./signal-session.js";

/**
 * Requests queued while one is processed (a request that waits on the store, with Redis a round trip, holds
 * up those behind it). Past `PAUSE_AT` the transport stops reading, so a client's burst within the rate limit
 * waits in TCP instead of closing its connection; `MAX_QUEUE` bounds what arrives before the pause takes hold
 * (the frames of a socket read already taken in) and what a transport without flow control may queue.
 * Over twice the default burst, so the rate limit's own rule normally ends a flood first (`QueueOverflow`).
 */
const MAX_QUEUE = 1024;
const PAUSE_AT = 32;
const RESUME_AT = 8;
/** Relays of one session queued in the store at once before the session waits for them. */
const MAX_RELAYS_IN_FLIGHT = 32;

/**
 * The session's way in: a queue processed one request at a time, in order (ordering per sender is a
 * protocol guarantee), the rate limit, the PQ handshake, record decryption, and dispatch. Binary frames take
 * a fast path: a `secure` record is parsed by hand, and an offer/answer/trickle inside it is relayed from
 * its bytes without ever being decoded.
 */
export class SessionInbound {
  /** Requests waiting their turn. Made when one arrives while another is processed and dropped once drained:
   * a connection holds it for hours, and an array that once grew keeps its spare capacity. */
  private queue: Inbound[] | undefined;
  private processing = false;
  private inputDone = false;
  /** Undecodable frames so far (before the PQ channel exists; after it, the first one ends the session). */
  private undecodable = 0;
  /** The queue overflowed: the session ends in that turn, and nothing that arrives after it is read. */
  private overflowed = false;
  private relaysInFlight = 0;
  /** The transport was asked to stop reading (see `PAUSE_AT`). */
  private inputPaused = false;
  /** The id of the request in hand, which a refusal repeats (the inner request's once a record is opened). */
  private requestId = 0;
  private readonly rate: MessageRate;
  /** The sender's from/from_sid, encoded once (see `senderFields`), at its first relay: an idle participant
   * (most of them, most of the time) holds no copy of it. */
  private stamp: string | undefined;

  constructor(private readonly s: SignalSession, private readonly pq: PqChannel | undefined) {
    this.rate = new MessageRate(s);
  }

  /** The transport stopped reading (flow control): the client's frames, pongs included, wait in TCP, so its
   * silence is ours (a store stalled for seconds), not a sign that it is gone. */
  get paused(): boolean {
    return this.inputPaused;
  }

  /** Queues a request (`otherKind`: it came in a frame of the other kind than the connection's format), or the join. */
  push(arrived: InboundRequest | Entry, otherKind = false): void {
    this.enqueue(otherKind && !(arrived instanceof Entry) ? new OtherKindFrame(arrived) : arrived);
  }

  /**
   * Takes `request` in its turn. Past a full queue (a client flooding faster than we process) the request is
   * not read: the session is to end there, in order, after answering what came before.
   */
  private enqueue(request: Inbound): void {
    if (this.overflowed) return;
    if (!this.processing) {
      void this.pump(request);
      return;
    }
    const queue = (this.queue ??= []);
    if (queue.length >= MAX_QUEUE) {
      this.overflowed = true;
      queue.push(QueueOverflow.mark);
      return;
    }
    queue.push(request);
    if (queue.length === PAUSE_AT && !this.inputPaused) {
      this.inputPaused = true;
      this.s.transport.pauseInput?.();
    }
  }

  /** The next queued request; reading resumes once the queue is short again. */
  private next(): Inbound | undefined {
    const request = this.queue?.shift();
    if (this.inputPaused && (this.queue?.length ?? 0) <= RESUME_AT) {
      this.inputPaused = false;
      if (!this.s.closed) {
        // What waited unread is read from now on: the client's silence so far was not its own.
        this.s.alive();
        this.s.transport.resumeInput?.();
      }
    }
    return request;
  }

  /** A frame the transport could not decode: answered in its turn (see `refuseMalformed`). */
  malformed(e: CodecError): void {
    this.s.svc.metrics.countMessage("malformed", "in");
    this.enqueue(new MalformedFrame(e));
  }

  /**
   * An undecodable frame in its turn: the end before the join (nothing can start from it; with PQ it is a
   * failed handshake) or once PQ is up; otherwise an `error`, and the end after too many.
   */
  private refuseMalformed(e: CodecError): void {
    const error = e.unknownType !== undefined ? errors.unknownMessageType(e.unknownType) : errors.malformedMessage(e.message);
    const { requestId } = e;
    if (this.pq?.established) {
      // Everything after the handshake is a record, so a frame that does not decode is a record whose
      // header is unreadable: refused like any bad record (data_loss, 4015), as DESIGN.md §5 says.
      this.s.end({ reason: DisconnectReason.PROTOCOL_ERROR, action: LeaveAction.DISCONNECT, error: errors.pqRecordInvalid(), dispose: "leave", requestId });
      return;
    }
    if (!this.s.joined) {
      this.pq?.handshakeFailed(error);
      this.s.fail(error, requestId);
      return;
    }
    this.s.sendError(error, requestId);
    if (++this.undecodable > 32) {
      this.s.end({ reason: DisconnectReason.PROTOCOL_ERROR, action: LeaveAction.DISCONNECT, error, dispose: "leave", requestId });
    }
  }

  /**
   * A frame over the size limit: refused with an error, and the connection carries on. On a post-quantum
   * channel the frame is a record that takes a sequence number: it is queued, and opened in its turn (not
   * acted on) so that the next record is read in order; `request` is undefined when the transport could not
   * decode it, and then the channel is lost and the connection ends now, saying why.
   */
  oversized(size: number, request: () => InboundRequest | undefined): void {
    if (!this.pq?.established) {
      this.refuseOversized(size, 0);
      return;
    }
    const record = request();
    if (record !== undefined) {
      this.enqueue(new OversizedRecord(size, record));
      return;
    }
    const error = errors.frameTooLarge(this.s.svc.config.limits.maxFrameBytes);
    this.s.svc.metrics.limitsHit.inc({ limit: "frame_size" });
    this.s.end({ reason: DisconnectReason.PROTOCOL_ERROR, action: LeaveAction.DISCONNECT, error, dispose: "leave" });
  }

  /** A ping: true when it may be answered (it takes a token of the message rate; see `MessageRate`). */
  admitPing(): boolean {
    return this.rate.admit(0);
  }

  /** The client will send nothing more: finish the queue, then `onInputDone`. */
  end(): void {
    this.inputDone = true;
    if (!this.processing) this.s.inputDrained();
  }

  clear(): void {
    this.queue = undefined;
  }

  private async pump(first: Inbound): Promise<void> {
    this.processing = true;
    for (let request: Inbound | undefined = first; request !== undefined && !this.s.closed; request = this.next()) {
      this.requestId = requestIdOf(request);
      try {
        // Most requests (relays on the fast path) are done, or handed to the store, synchronously: only
        // the others are awaited, so a relay costs no promise or suspended frame of the pump.
        const pending = this.process(request);
        if (pending !== undefined) await pending;
      } catch (e) {
        this.s.fail(e, this.requestId);
      }
    }
    this.queue = undefined;
    this.processing = false;
    if (this.inputDone && !this.s.closed) this.s.inputDrained();
  }

  /** Handles one request; returns a promise when the next request must wait for this one. */
  private process(inbound: Inbound): Promise<void> | undefined {
    const pq = this.pq;
    if (inbound instanceof MalformedFrame) {
      this.refuseMalformed(inbound.error);
      return undefined;
    }
    if (inbound instanceof QueueOverflow) return this.overflow();
    if (inbound instanceof Entry) return inbound.run();
    if (inbound instanceof OversizedRecord) return this.openOversized(pq as PqChannel, inbound);
    let request = inbound;
    if (request instanceof OtherKindFrame) {
      // After the handshake the client keeps to the connection's kind of frame: one of the other kind is
      // no record of this channel, whatever it holds.
      if (pq?.established) {
        this.s.svc.metrics.countMessage("refused", "in");
        throw errors.pqRecordInvalid();
      }
      request = request.request;
    }
    // The rate limit is applied in `handshake`, once decoded: a refusal is counted by type and names the request.
    if (pq && !pq.established) return this.handshake(pq, request);
    let plaintext: Uint8Array | undefined;
    let decoded: SignalRequest | undefined;
    if (pq) {
      // Opened before the rate limit is applied: a refused record must still take its sequence number,
      // or every later record would be refused as out of order and the channel would be lost.
      try {
        plaintext = request instanceof Uint8Array ? this.openFrame(pq, request) : pq.open(recordOf(request));
      } catch (e) {
        this.s.svc.metrics.countMessage("refused", "in");
        throw e;
      }
    } else if (request instanceof Uint8Array) plaintext = request;
    else decoded = request;
    const sender = this.s.sender;
    if (plaintext !== undefined && this.s.transport.format() === "protobuf" && sender !== undefined) {
      const relay = parseRelayRequest(plaintext);
      if (relay) {
        // Counted whether the rate limit admits it or not: `in` is what clients sent, floods included.
        this.s.svc.metrics.countMessage(relay.kind, "in");
        if (!this.rate.admit(relay.requestId)) return undefined;
        // Pipelined: the next request is taken while this one is queued in the store (with Redis, a round
        // trip). Order still holds: the store issues enqueues in call order (one connection, one batch), and
        // anything else the session does after it reaches the store after it. Bounded per session.
        const done = this.relayOne(sender, relay, (this.stamp ??= stampOf(sender)));
        return this.relaysInFlight >= MAX_RELAYS_IN_FLIGHT ? done : undefined;
      }
    }
    if (decoded === undefined) decoded = this.decodeInner(plaintext as Uint8Array, pq !== undefined);
    this.s.svc.metrics.countMessage(decoded.message.case ?? "none", "in");
    // After decoding, so that the refusal names the request it refuses and the client can fail that one.
    if (!this.rate.admit(decoded.requestId, tokensFor(decoded, this.s.svc.config.limits))) return undefined;
    if (pq && decoded.message.case === "rekey") return pq.rekey(decoded.message.value, (r) => this.s.send(r));
    if (!pq && isPqMessage(decoded)) throw errors.unexpectedMessage(decoded.message.case ?? "");
    if (!this.s.joined) throw errors.unexpectedMessage(decoded.message.case ?? "empty");
    return this.handle(decoded);
  }

  /** The queue's end, reached in turn: what came after it was never read, so the error names no request. */
  private overflow(): undefined {
    this.s.svc.metrics.limitsHit.inc({ limit: "inbound_queue" });
    this.s.end({ reason: DisconnectReason.LIMIT_EXCEEDED, action: LeaveAction.DISCONNECT, error: errors.rateLimited(), dispose: "leave" });
    return undefined;
  }

  /** Opens an oversized record (its sequence number taken, its content not acted on) and refuses it. */
  private openOversized(pq: PqChannel, f: OversizedRecord): undefined {
    const r = f.request;
    const plaintext = r instanceof Uint8Array ? this.openFrame(pq, r) : pq.open(recordOf(r));
    let requestId = 0;
    try {
      requestId = decodePlaintext(SignalRequestSchema, plaintext, this.s.transport.format()).requestId;
    } catch {
      // Refused all the same; without an id the client cannot tell which request it was.
    }
    if (this.rate.admit(requestId)) this.refuseOversized(f.size, requestId);
    return undefined;
  }

  private refuseOversized(size: number, requestId: number): void {
    const { svc } = this.s;
    svc.metrics.limitsHit.inc({ limit: "frame_size" });
    this.s.log.warn({ size }, "oversized frame refused");
    this.s.sendError(errors.frameTooLarge(svc.config.limits.maxFrameBytes), requestId);
  }

  private async handshake(pq: PqChannel, request: InboundRequest): Promise<void> {
    let decoded: SignalRequest;
    try {
      decoded = request instanceof Uint8Array ? this.decodeFrame(request) : request;
      this.requestId = decoded.requestId;
      if (decoded.message.case === undefined) throw errors.malformedMessage("empty message");
    } catch (e) {
      if (e instanceof CodecError) this.requestId = e.requestId;
      pq.handshakeFailed(e);
      throw e;
    }
    this.s.svc.metrics.countMessage(decoded.message.case, "in");
    if (!this.rate.admit(decoded.requestId)) return;
    if (decoded.message.case === "leave") {
      // `leave` may be sent in the clear until the channel exists (protocol.md §3): a client giving up.
      this.s.end({ reason: DisconnectReason.CLIENT_INITIATED, action: LeaveAction.DISCONNECT, dispose: "none" });
      return;
    }
    const { reply, established } = await pq.handshake(decoded);
    if (reply) this.s.send(reply);
    if (established) await this.s.enter();
  }

  private async handle(decoded: SignalRequest): Promise<void> {
    try {
      await this.s.requests.handle(decoded);
    } catch (e) {
      // Answered with the inner request's id: with PQ on, the outer record's id is always 0.
      this.s.fail(e, decoded.requestId);
    }
  }

  /**
   * One relay of the fast path. Written with `then` rather than as an async function: a suspended async
   * function keeps a generator and its registers, and with the relay's and the delivery's own async
   * functions that was over 1 KB allocated per relayed message, all of it surviving a Redis round trip.
   * A store that answers at once (memory) makes it synchronous: no promise at all.
   */
  private relayOne(sender: Sender, relay: RelayRequest, stamp: string): Promise<void> | undefined {
    const started = performance.now();
    let pending: Promise<void> | void;
    try {
      pending = this.s.svc.relay.relayFrame(sender, relay, stamp);
    } catch (e) {
      this.s.fail(e, relay.requestId);
      return undefined;
    }
    if (!(pending instanceof Promise)) {
      this.s.svc.metrics.relayLatency.record((performance.now() - started) / 1000);
      return undefined;
    }
    this.relaysInFlight++;
    return pending.then(
      () => {
        this.relaysInFlight--;
        this.s.svc.metrics.relayLatency.record((performance.now() - started) / 1000);
      },
      (e: unknown) => {
        this.relaysInFlight--;
        this.s.fail(e, relay.requestId);
      },
    );
  }

  /** The inner request of a record (or a plain binary frame); undecodable content in a record is fatal. */
  private decodeInner(bytes: Uint8Array, inRecord: boolean): SignalRequest {
    let inner: SignalRequest;
    try {
      inner = inRecord ? decodePlaintext(SignalRequestSchema, bytes, this.s.transport.format()) : this.decodeFrame(bytes);
    } catch (e) {
      if (e instanceof CodecError) this.requestId = e.requestId;
      // A well-formed message of a type this server does not know is answered as it is outside a record
      // (and as protobuf's unknown oneof field is); anything else that does not decode breaks the channel.
      if (inRecord && e instanceof CodecError) throw e.unknownType !== undefined ? errors.unknownMessageType(e.unknownType) : errors.pqRecordInvalid();
      throw e;
    }
    // With PQ on the outer record's id is 0: a refusal from here on repeats the inner request's.
    this.requestId = inner.requestId;
    if (inRecord && inner.message.case === "pqHandshake") throw errors.pqHandshakeDuplicate();
    if (inRecord && isPqMessage(inner) && inner.message.case !== "rekey") throw errors.pqRecordInvalid();
    return inner;
  }

  /** A binary frame that must be a whole SignalRequest; counted as `malformed` when it is not. */
  private decodeFrame(bytes: Uint8Array): SignalRequest {
    try {
      return decodeOuter(bytes);
    } catch (e) {
      this.s.svc.metrics.countMessage("malformed", "in");
      throw e;
    }
  }

  /**
   * A binary frame on an established channel: a record, decrypted where it lies (the frame is the session's
   * own, nothing else reads it), or (refused) a plaintext signal or junk. A refused plaintext signal's
   * error repeats its request id, as it would for the same signal in a JSON frame.
   */
  private openFrame(pq: PqChannel, bytes: Uint8Array): Uint8Array {
    const record = parseSecureRequest(bytes);
    if (record) return pq.openInPlace(record.epoch, record.seq, record.ciphertext);
    let decoded: SignalRequest;
    try {
      decoded = fromBinary(SignalRequestSchema, bytes);
    } catch {
      // After the handshake every frame is a record; one that does not even decode is a broken channel.
      throw errors.pqRecordInvalid();
    }
    this.requestId = decoded.requestId;
    return pq.open(recordOf(decoded));
  }
}

/** The sender's from/from_sid, ready to append to what it relays (its identity and sid never change). */
function stampOf(sender: Sender): string {
  const te = new TextEncoder();
  return senderFields(te.encode(sender.identity), te.encode(sender.sid));
}
