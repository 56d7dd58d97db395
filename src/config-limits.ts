import { MAX_NAME_CHARACTERS } from "./auth/participant-names.js";
import type { LimitConfig } from "./config.js";
import type { EnvReader } from "./config-env-reader.js";
import { PARTICIPANT_LIMITS } from "./room/participant-fields.js";

// The size, rate and connection limits, and the cross-checks that keep them usable together: a data limit the
// frame cannot carry, or an unacknowledged-bytes limit one message can exceed, would be refused or cut off at
// run time for a client that kept to what `join` advertised.

/**
 * Room a `data` request needs in a frame around its payload: target, topic and id at their longest in ASCII,
 * request id and field names. The worst case, JSON sealed in a post-quantum record whose ciphertext is base64
 * in the JSON frame, is about 850 bytes; protobuf needs about 500.
 */
export const DATA_ENVELOPE_BYTES = 1024;

/**
 * The frame a data payload of `dataBytes` needs: bytes travel as base64 in JSON text frames (4/3 as many);
 * on a post-quantum channel that JSON is the plaintext of a record whose ciphertext is base64 again (16/9).
 */
export function frameBytesForData(dataBytes: number, pq: boolean): number {
  return Math.ceil(pq ? (dataBytes * 16) / 9 : (dataBytes * 4) / 3) + DATA_ENVELOPE_BYTES;
}

/** The largest payload `frameBytesForData` fits in `frameBytes` (0 or less when none does). */
function largestDataIn(frameBytes: number, pq: boolean): number {
  return Math.floor(((frameBytes - DATA_ENVELOPE_BYTES) * (pq ? 9 : 3)) / (pq ? 16 : 4));
}

/** What a relayed request gains on its way to the recipient: `from` (an identity) and `from_sid`. */
const SENDER_STAMP_BYTES = 4 * MAX_NAME_CHARACTERS + 64;
/**
 * The largest message the server makes itself: a `participant_update` at the metadata and attribute limits,
 * plus name, identity, PQ key and per-attribute framing (about 4 KiB; 8 allowed).
 */
const LARGEST_PARTICIPANT_UPDATE_BYTES = PARTICIPANT_LIMITS.metadata + PARTICIPANT_LIMITS.attributesBytes + 8192;

export function readLimits(r: EnvReader, pq: boolean): LimitConfig {
  const before = r.problems.length;
  const maxFrameBytes = r.int("VOLLY_MAX_FRAME_BYTES", 262_144, 1024, 16_777_216);
  const frameRead = r.problems.length === before;
  // Unset, the data limit is what fits in the frame (up to 16 KiB), so that a smaller frame alone is enough.
  const dataSet = r.isSet("VOLLY_MAX_DATA_BYTES");
  const maxDataBytes = r.int("VOLLY_MAX_DATA_BYTES", Math.max(1, Math.min(16_384, largestDataIn(maxFrameBytes, pq))), 1, 16_777_216);
  const dataRead = r.problems.length === before;
  const unackedBefore = r.problems.length;
  const maxUnackedBytes = r.int("VOLLY_MAX_UNACKED_BYTES", 16_777_216, 65_536, 1_073_741_824);
  const needed = frameBytesForData(maxDataBytes, pq);
  if (frameRead && dataRead && needed > maxFrameBytes) {
    const how = pq ? "16/9 (base64 in JSON, sealed, base64 again)" : "4/3 (base64 in a JSON frame)";
    r.problem(dataSet
      ? `VOLLY_MAX_DATA_BYTES=${maxDataBytes} needs VOLLY_MAX_FRAME_BYTES of at least ${needed} (the payload times ${how}, plus ${DATA_ENVELOPE_BYTES} for the rest of the message); it is ${maxFrameBytes}`
      : `VOLLY_MAX_FRAME_BYTES=${maxFrameBytes} leaves no room for a data payload (VOLLY_MAX_DATA_BYTES, unset, would be what fits): a data message needs its payload times ${how}, plus ${DATA_ENVELOPE_BYTES} for the rest of the message`);
  }
  // One message bigger than the unacknowledged limit disconnects its recipient (`unacked_limit`) the moment
  // it is delivered, though its sender was told it went through.
  const largest = Math.max(maxFrameBytes + SENDER_STAMP_BYTES, LARGEST_PARTICIPANT_UPDATE_BYTES);
  if (frameRead && r.problems.length === unackedBefore && maxUnackedBytes < largest) {
    r.problem(`VOLLY_MAX_UNACKED_BYTES=${maxUnackedBytes} is less than the largest message one participant can be sent, ${largest} bytes (a request relayed at VOLLY_MAX_FRAME_BYTES=${maxFrameBytes} plus ${SENDER_STAMP_BYTES} for its sender, or a participant update at the metadata and attribute limits, ${LARGEST_PARTICIPANT_UPDATE_BYTES}): one such message would disconnect its recipient`);
  }
  return {
    maxFrameBytes,
    maxDataBytes,
    messagesPerSecond: r.int("VOLLY_MAX_MESSAGES_PER_SECOND", 200, 1, 1_000_000),
    messageBurst: r.int("VOLLY_MESSAGE_BURST", 400, 1, 1_000_000),
    // 16 MiB: a 16 KiB data message (the default VOLLY_MAX_DATA_BYTES) to the 99 others of a full room
    // (the default VOLLY_MAX_PARTICIPANTS) about ten times a second, which no app built on signaling needs.
    maxFanoutBytesPerSecond: r.int("VOLLY_MAX_FANOUT_BYTES_PER_SECOND", 16_777_216, 1024, 4_294_967_295),
    maxConnections: r.int("VOLLY_MAX_CONNECTIONS", 20_000, 1, 10_000_000),
    maxConnectionsPerIp: r.int("VOLLY_MAX_CONNECTIONS_PER_IP", 20_000, 1, 10_000_000),
    maxDiscover: 100,
    maxSendBufferBytes: r.int("VOLLY_MAX_SEND_BUFFER_BYTES", 4_194_304, 65_536, 1_073_741_824),
    maxUnackedBytes,
    httpHeadersTimeoutMs: r.int("VOLLY_HTTP_HEADERS_TIMEOUT", 20, 1, 3600) * 1000,
    httpRequestTimeoutMs: r.int("VOLLY_HTTP_REQUEST_TIMEOUT", 60, 1, 86_400) * 1000,
    http2IdleTimeoutMs: r.int("VOLLY_HTTP2_IDLE_TIMEOUT", 120, 1, 86_400) * 1000,
    // A backend that runs many participants over one gRPC connection (grpc-js puts every call to a server
    // on one) opens a signal stream per participant; unauthenticated streams end at the request timeout.
    http2MaxStreams: r.int("VOLLY_HTTP2_MAX_STREAMS", 1000, 1, 100_000),
    // A reflection client (buf curl, grpcurl, Postman) opens one stream, asks, and closes it: a handful
    // at a time is use, more is someone holding memory.
    maxReflectionStreams: r.int("VOLLY_MAX_REFLECTION_STREAMS", 64, 1, 100_000),
  };
}
