import type { SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import type { WireFormat } from "../protocol/signal-codec.js";
import type { FrameAllocator } from "../protocol/wire-bytes.js";

/**
 * One client connection as the session sees it. Transports only translate: the `/rtc` WebSocket and the
 * gRPC/Connect stream both implement this and feed requests to the same `SignalSession`.
 */
export interface SignalTransport {
  readonly kind: "websocket" | "grpc";
  readonly remoteAddress: string;
  /** The connection's encoding; record plaintexts use it too. */
  format(): WireFormat;
  /**
   * `encodedBytes` is the response's size on the wire when the caller already has it encoded (a relayed
   * message): a transport that counts what it holds need not encode it again to know.
   */
  send(response: SignalResponse, encodedBytes?: number): void;
  /**
   * Sends an already encoded binary SignalResponse. Only transports whose frames are protobuf bytes have
   * it (WebSocket in `protobuf` format); it saves a decode and an encode per relayed message.
   */
  sendEncoded?(response: Uint8Array): void;
  /**
   * Where an encoded response for `sendEncoded` may be built: a transport that frames what it sends can keep
   * room for its own header in front, so the frame goes out as one buffer. Its bytes are not zeroed; the
   * caller writes every one.
   */
  readonly frameAllocator?: FrameAllocator;
  /** Asks the peer for a sign of life (WebSocket ping; browsers answer without app code). */
  probe?(): void;
  /**
   * Stops taking requests from the peer until `resumeInput` (flow control: TCP pushes back on the sender);
   * requests already on their way may still arrive. Transports without it rely on the inbound queue's cap.
   */
  pauseInput?(): void;
  resumeInput?(): void;
  /** Bytes accepted but not yet written to the network. */
  bufferedBytes(): number;
  /**
   * Ends the connection after what was sent. `code` is a WebSocket close code (1000 normal, 1001 going
   * away, 4000 + Connect code for fatal errors); gRPC ends the stream, with an error status when
   * `code >= 4000`.
   */
  close(code: number, reason: string): void;
}
