import type { Duplex } from "node:stream";
import { WebSocket } from "ws";
import { SignalRequestSchema, SignalResponseSchema, type SignalRequest, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { CodecError, decodeFrame, encodeFrame, type WireFormat } from "../protocol/signal-codec.js";
import { decodeJsonText } from "../protocol/text-encoding.js";
import type { FrameAllocator } from "../protocol/wire-bytes.js";
import type { SignalSession } from "../session/signal-session.js";
import type { SignalTransport } from "../session/signal-transport.js";
import type { ConnectionSlots } from "./connection-limiter.js";
import type { SignalSocketEvents, SignalWebSocket } from "./signal-web-socket.js";
import { allocateWsFrame, laidOutFrame } from "./ws-frame.js";

/**
 * The `/rtc` WebSocket as a `SignalTransport`: binary frames are protobuf, text frames JSON (canonical or
 * flat). The connection keeps the format of its first frame, whoever sends it; until then the server
 * speaks the `?format=` form (flat JSON by default, what the seed's browser code reads).
 */
export class WsTransport implements SignalTransport, SignalSocketEvents {
  readonly kind = "websocket" as const;
  private fixed: WireFormat | undefined;
  private session: SignalSession | undefined;
  private closed = false;
  private released = false;

  /** Frames sent in the current event-loop turn. */
  private turn = 0;

  constructor(
    private readonly ws: SignalWebSocket,
    /** The upgraded TCP socket under `ws`, corked while a burst of sends is being written. */
    private readonly socket: Duplex,
    readonly remoteAddress: string,
    private readonly serverFirstFormat: WireFormat,
    private readonly maxFrameBytes: number,
    /** Where the connection's slot (counted under `remoteAddress`) goes back once the socket has closed. */
    private readonly slots: ConnectionSlots,
    /** The bridge's open sockets: this one is in it until it closes. */
    private readonly open: Set<SignalWebSocket>,
  ) {
    // From the start, so that the slot goes back with the socket even if no session is ever attached.
    ws.listen(this);
    open.add(ws);
  }

  /** Hands the socket's frames to `session` (frames before it have nobody to go to and are dropped). */
  attach(session: SignalSession): void {
    this.session = session;
  }

  ping(data: Buffer): void {
    if (this.closed) return;
    // Unanswered past the connection's message rate (the session ends a client that keeps flooding).
    if (this.session && !this.session.pinged()) return;
    this.ws.pong(data, false);
  }

  pong(): void {
    this.session?.alive();
  }

  socketClosed(): void {
    if (this.released) return;
    this.released = true;
    this.closed = true;
    this.open.delete(this.ws);
    this.slots.release(this.remoteAddress);
    this.session?.transportClosed();
  }

  format(): WireFormat {
    return this.fixed ?? this.serverFirstFormat;
  }

  send(response: SignalResponse): void {
    if (this.closed) return;
    this.fixed ??= this.serverFirstFormat;
    this.write(encodeFrame(SignalResponseSchema, response, this.fixed));
  }

  /** A getter: the allocator is shared, and a field would cost every idle connection a slot. */
  get frameAllocator(): FrameAllocator {
    return allocateWsFrame;
  }

  sendEncoded(response: Uint8Array): void {
    if (this.closed) return;
    this.fixed ??= "protobuf";
    const frame = laidOutFrame(response);
    // Straight to the socket only while ws would send it too: not once a close frame has gone either way.
    // Nothing of ws's is bypassed otherwise: without permessage-deflate (WsBridge) and with no Blob sent,
    // ws's sender queues nothing, so the frame cannot overtake one of its frames.
    if (frame !== undefined && this.ws.readyState === WebSocket.OPEN) {
      this.startWrite();
      this.socket.write(frame);
    } else this.write(response);
  }

  /** Sends one frame through ws. */
  private write(frame: Uint8Array | string): void {
    this.startWrite();
    this.ws.send(frame);
  }

  /**
   * Called before every frame is written. The first frame of an event-loop turn goes out at once (no added
   * latency when traffic is sparse); from the second one on the socket is corked until the turn's callbacks
   * and promise jobs are done, so a burst (a batch of relayed messages, a replay) becomes one write system
   * call instead of one per frame: on a busy relay writev was the largest single cost.
   */
  private startWrite(): void {
    if (this.turn === 0) setImmediate(() => this.endTurn());
    else if (this.turn === 1) this.socket.cork();
    this.turn++;
  }

  private endTurn(): void {
    if (this.turn > 1) this.socket.uncork();
    this.turn = 0;
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  pauseInput(): void {
    this.ws.pause();
  }

  resumeInput(): void {
    this.ws.resume();
  }

  probe(): void {
    if (!this.closed) this.ws.ping();
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    // A socket paused for flow control must read again, or the peer's close frame would never be seen.
    if (this.ws.isPaused) this.ws.resume();
    this.ws.close(code, closeReason(reason));
    // A peer that never answers the close handshake must not hold the socket.
    setTimeout(() => this.ws.terminate(), 5000).unref();
  }

  frame(data: unknown, isBinary: boolean): void {
    const session = this.session;
    if (!session) return;
    const bytes = toBytes(data);
    if (bytes.length > this.maxFrameBytes) {
      session.receiveOversized(bytes.length, () => (isBinary ? bytes : decodeOrUndefined(bytes)));
      return;
    }
    if (isBinary) {
      // Binary frames go to the session as bytes: the hot path parses records and relays by hand.
      const otherKind = this.fixed !== undefined && this.fixed !== "protobuf";
      this.fixed ??= "protobuf";
      session.receive(bytes, otherKind);
      return;
    }
    let decoded;
    try {
      decoded = decodeFrame(SignalRequestSchema, decodeJsonText(bytes));
    } catch (e) {
      if (e instanceof CodecError) {
        // In the client's dialect when the frame shows it, else the one it asked for with ?format=json.
        this.fixed ??= e.format ?? (this.serverFirstFormat === "json" ? "json" : "flat");
        session.receiveMalformed(e);
        return;
      }
      throw e;
    }
    const otherKind = this.fixed === "protobuf";
    this.fixed ??= decoded.format;
    session.receive(decoded.message, otherKind);
  }
}

function decodeOrUndefined(bytes: Uint8Array): SignalRequest | undefined {
  try {
    return decodeFrame(SignalRequestSchema, decodeJsonText(bytes)).message;
  } catch {
    return undefined;
  }
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(0);
}

/** A close frame's reason is at most 123 bytes of UTF-8 (RFC 6455 §5.5): cut on a character boundary. */
function closeReason(reason: string): string {
  if (reason.length <= 41 || Buffer.byteLength(reason) <= 123) return reason;
  let out = "";
  let bytes = 0;
  for (const c of reason) {
    bytes += Buffer.byteLength(c);
    if (bytes > 123) break;
    out += c;
  }
  return out;
}
