/**
 * Volly Signaling client SDK (`@volly/signaling/client`), for browsers and Node. It imports no server module:
 * only the generated protocol, the shared protocol/PQ code and browser-safe packages.
 */
export { generateVollyAccessToken, type VollyTokenOptions, type VollyVideoGrant } from "./access-token.js";
export { generatePqKeyPair, importPqKeyPair, type VollyPqKeyPair, type VollyStoredPqKeyPair } from "./pq-key-pair.js";
export { VollySignalingClient } from "./signaling-client.js";
export type { VollySignalingClientOptions, VollyLogger } from "./client-options.js";
export type {
  VollyDataAck,
  VollyDataMessage,
  VollyDisconnectInfo,
  VollyJoinInfo,
  VollyRoom,
  VollySignalingEvents,
  VollyUserPresence,
} from "./client-events.js";
export type { VollyParticipant } from "./participant-roster.js";
export type { VollyConnectionLimits } from "./connection-limits.js";
export type { ConnectionState } from "./signal-connection.js";
export type { ReconnectPolicy } from "./reconnect-policy.js";
export { VollyCall, type VollyAcceptOptions, type VollyCallEndReason, type VollyCallEvents, type VollyCallState } from "./call.js";
export type { VollyCallOptions } from "./call-router.js";
export type { CandidateFilter } from "./negotiator.js";
export { VollyPostQuantumSession } from "./post-quantum-session.js";
export {
  VollyMessagingClient,
  type VollyMessage,
  type VollyMessageReceipt,
  type VollyMessagingClientOptions,
  type VollyMessagingEvents,
} from "./messaging-client.js";
export type {
  DataChannelLike,
  GetUserMedia,
  IceCandidateInitLike,
  IceServerLike,
  MediaStreamLike,
  MediaStreamTrackLike,
  PeerConnectionConstructor,
  PeerConnectionLike,
} from "./webrtc-types.js";
export type { WebSocketConstructor, WebSocketLike } from "./websocket-types.js";
export type { PqAlgorithm } from "../protocol/pq/algorithms.js";
export type { WireFormat } from "../protocol/signal-codec.js";
export { ConnectError, Code } from "@connectrpc/connect";
export { errorReasonOf } from "./client-errors.js";
