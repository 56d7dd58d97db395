import type { JoinResponse, ReconnectResponse } from "../../gen/volly/signaling/v1/signal_pb.js";

/** The server's per-connection limits, as `join`/`reconnect` advertise them. */
export interface VollyConnectionLimits {
  /** Largest frame the server reads (sealed record or text frame, in bytes); larger requests are refused locally. */
  readonly maxFrameBytes: number;
  /** Largest `data` payload. */
  readonly maxDataBytes: number;
  /** Requests per second the server admits after the burst; the SDK paces what it sends below it. */
  readonly messagesPerSecond: number;
  readonly messageBurst: number;
  /**
   * What this connection's broadcasts (room-wide `sendData`, `updateMetadata`) may cost per second: their bytes
   * times their recipients. The SDK paces broadcasts below it.
   */
  readonly fanoutBytesPerSecond: number;
}

/**
 * What servers too old to advertise their limits ran with by default. Not today's defaults on purpose: a
 * server that advertises nothing predates the 256 KiB VOLLY_MAX_FRAME_BYTES, which came with advertising.
 */
export const DEFAULT_CONNECTION_LIMITS: VollyConnectionLimits = {
  maxFrameBytes: 65_536,
  maxDataBytes: 16_384,
  messagesPerSecond: 200,
  messageBurst: 400,
  fanoutBytesPerSecond: 16_777_216,
};

/** The limits a `join`/`reconnect` advertises; each field missing or 0 (an older server) takes its default. */
export function limitsOf(response: JoinResponse | ReconnectResponse): VollyConnectionLimits {
  const l = response.limits;
  const d = DEFAULT_CONNECTION_LIMITS;
  return {
    maxFrameBytes: l?.maxFrameBytes || d.maxFrameBytes,
    maxDataBytes: l?.maxDataBytes || d.maxDataBytes,
    messagesPerSecond: l?.messagesPerSecond || d.messagesPerSecond,
    messageBurst: l?.messageBurst || d.messageBurst,
    fanoutBytesPerSecond: l?.fanoutBytesPerSecond || d.fanoutBytesPerSecond,
  };
}
