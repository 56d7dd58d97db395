/**
 * The slice of WebRTC the SDK uses, as structural types, so that both a browser's native `RTCPeerConnection` and
 * a Node implementation such as `werift`'s fit without casts. Event handler properties take `(event: never) => void`:
 * any implementation's handler type is assignable to that, and the SDK installs handlers that read only the fields
 * documented on the `*EventLike` types below (which both browsers and werift provide).
 */

/** An ICE server entry for the peer connection's configuration. */
export interface IceServerLike {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** The configuration the SDK passes to the peer connection constructor. */
export interface PeerConnectionConfigLike {
  iceServers?: IceServerLike[];
}

/** `RTCIceCandidateInit`: what travels in a `trickle` message (as JSON). */
export interface IceCandidateInitLike {
  candidate?: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/** `RTCSessionDescriptionInit`. */
export interface SessionDescriptionLike {
  type: "offer" | "answer" | "pranswer" | "rollback";
  sdp?: string;
}

/** A media track (browser `MediaStreamTrack`, or a Node implementation's). */
export interface MediaStreamTrackLike {
  readonly kind: string;
  readonly id?: string;
  stop(): void;
}

/** A media stream (browser `MediaStream`). */
export interface MediaStreamLike {
  readonly id: string;
  getTracks(): MediaStreamTrackLike[];
}

/** A data channel (browser `RTCDataChannel`, werift `RTCDataChannel`). Incoming binary is an ArrayBuffer in
 * browsers and a `Buffer` in werift. */
export interface DataChannelLike {
  readonly label: string;
  readonly readyState: string;
  send(data: string): void;
  close(): void;
  onopen?: ((event: never) => void) | null;
  onclose?: ((event: never) => void) | null;
  onmessage?: ((event: never) => void) | null;
}

/** The event of `onicecandidate`: `candidate` is `null` (browsers) or `undefined` (werift) at the end of gathering. */
export interface IceCandidateEventLike {
  readonly candidate: { toJSON(): IceCandidateInitLike } | null | undefined;
}

/** The event of `ontrack`. */
export interface TrackEventLike {
  readonly track: MediaStreamTrackLike;
  readonly streams: readonly MediaStreamLike[];
}

/** The event of `ondatachannel`. */
export interface DataChannelEventLike {
  readonly channel: DataChannelLike;
}

/** The peer connection operations and events the SDK uses. */
export interface PeerConnectionLike {
  readonly connectionState: string;
  readonly signalingState: string;
  readonly localDescription: { readonly type: string; readonly sdp: string } | null;
  readonly remoteDescription: { readonly type: string; readonly sdp: string } | null;
  setLocalDescription(description?: SessionDescriptionLike): Promise<unknown>;
  /** Used, where present, to tell a `negotiationneeded` that changes nothing (then no offer is made). */
  createOffer?(): Promise<{ readonly sdp?: string }>;
  setRemoteDescription(description: SessionDescriptionLike): Promise<unknown>;
  addIceCandidate(candidate?: IceCandidateInitLike): Promise<unknown>;
  createDataChannel(label: string, options?: { ordered?: boolean; protocol?: string }): DataChannelLike;
  addTrack(track: MediaStreamTrackLike, ...streams: MediaStreamLike[]): unknown;
  /** Used, where present, to receive a kind of media the caller does not send. */
  addTransceiver?(kind: "audio" | "video", init: { direction: "recvonly" }): unknown;
  close(): unknown;
  onicecandidate: ((event: never) => void) | null | undefined;
  onnegotiationneeded: ((event: never) => void) | null | undefined;
  onconnectionstatechange: ((event: never) => void) | null | undefined;
  ontrack: ((event: never) => void) | null | undefined;
  ondatachannel: ((event: never) => void) | null | undefined;
}

/** A peer connection constructor: `RTCPeerConnection` in browsers, e.g. werift's in Node. */
export type PeerConnectionConstructor = new (configuration?: PeerConnectionConfigLike) => PeerConnectionLike;

/** Local capture: `navigator.mediaDevices.getUserMedia` in browsers. */
export type GetUserMedia = (constraints: { audio: boolean; video: boolean }) => Promise<MediaStreamLike>;
