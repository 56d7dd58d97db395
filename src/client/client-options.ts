import { Code, ConnectError } from "@connectrpc/connect";
import { decodeJwt } from "jose";
import { DEFAULT_PQ_ALGORITHM, parsePqAlgorithm, type PqAlgorithm } from "../protocol/pq/algorithms.js";
import type { KemKeyPair } from "../protocol/pq/kem.js";
import type { WireFormat } from "../protocol/signal-codec.js";
import type { CandidateFilter } from "./negotiator.js";
import type { VollyPqKeyPair } from "./pq-key-pair.js";
import { badOption } from "./client-errors.js";
import { tokenBoundKeyPair } from "./token-key-pair.js";
import { resolveReconnectPolicy, type ReconnectPolicy, type ResolvedReconnectPolicy } from "./reconnect-policy.js";
import type { GetUserMedia, IceServerLike, PeerConnectionConstructor } from "./webrtc-types.js";
import type { WebSocketConstructor } from "./websocket-types.js";

/** Where the SDK writes diagnostics (`console` fits). Silent by default. */
export interface VollyLogger {
  debug?(message: string, details?: Record<string, unknown>): void;
  info?(message: string, details?: Record<string, unknown>): void;
  warn?(message: string, details?: Record<string, unknown>): void;
  error?(message: string, details?: Record<string, unknown>): void;
}

/** Options of `VollySignalingClient`. */
export interface VollySignalingClientOptions {
  /** `ws://localhost:7880` (the path defaults to `/rtc`). In a browser, defaults to the page's host. */
  url?: string;
  /** The access token (from `generateVollyAccessToken` on the app's backend). */
  token: string;
  /** WebSocket constructor: the global one by default (browsers, Node 22+); in Node 20 pass `ws`. */
  webSocket?: WebSocketConstructor;
  /** Peer connection constructor: the global one by default (browsers); in Node pass e.g. werift's. */
  RTCPeerConnection?: PeerConnectionConstructor;
  /** ICE servers for calls; default: those the server sent in `join` (STUN/TURN with ephemeral credentials). */
  iceServers?: IceServerLike[];
  /** Only local candidates it accepts are signaled (tests keep ICE on loopback with it). */
  candidateFilter?: CandidateFilter;
  /** Local capture; default `navigator.mediaDevices.getUserMedia` where it exists. */
  getUserMedia?: GetUserMedia;
  /** The ephemeral key's algorithm (default "ML-KEM-768"; "X25519MLKEM768" for the hybrid). */
  pqAlgorithm?: PqAlgorithm;
  /**
   * The key pair whose public key the token carries (`pqPublicKey`): the handshake then uses it (way (a)). From
   * `generatePqKeyPair()`, or `importPqKeyPair()` for stored bytes; checked against the token at construction.
   */
  tokenKeyPair?: VollyPqKeyPair;
  /** Only `false` for a server run with VOLLY_PQ_ENABLED=false (plaintext signaling). Default true. */
  postQuantum?: boolean;
  /** Encoding on the wire (default "protobuf"). */
  format?: WireFormat;
  /** Automatic resume/rejoin after a drop (default on), or `false`. */
  reconnect?: ReconnectPolicy | false;
  /** Rekey interval in ms (default: the server's `rekey_interval`). */
  rekeyIntervalMs?: number;
  /** How long a request may wait for its answer (default 20000 ms). */
  requestTimeoutMs?: number;
  /** How long opening and joining may take (default 10000 ms). */
  connectTimeoutMs?: number;
  logger?: VollyLogger;
}

/** The connection's part of the options, checked and completed. */
export interface ConnectionSettings {
  readonly url: string;
  readonly format: WireFormat;
  readonly postQuantum: boolean;
  readonly algorithm: PqAlgorithm;
  readonly tokenKeyPair?: KemKeyPair & { readonly algorithm: PqAlgorithm };
  readonly WebSocket: WebSocketConstructor;
  /** Overrides the server's `rekey_interval` (ms). */
  readonly rekeyIntervalMs?: number;
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

/** Options checked and completed. */
export interface ResolvedClientOptions {
  readonly identity: string;
  readonly token: string;
  readonly settings: ConnectionSettings;
  readonly reconnect: ResolvedReconnectPolicy | false;
  readonly RTCPeerConnection: PeerConnectionConstructor | undefined;
  readonly iceServers: IceServerLike[] | undefined;
  readonly candidateFilter: CandidateFilter | undefined;
  readonly getUserMedia: GetUserMedia | undefined;
  readonly requestTimeoutMs: number;
  readonly logger: VollyLogger;
}

/** Checks the options (throws `ConnectError` `InvalidArgument`/`FailedPrecondition`) and fills in defaults. */
export function resolveClientOptions(o: VollySignalingClientOptions): ResolvedClientOptions {
  if (o.token === undefined || o.token === null || o.token === "") throw new ConnectError("token is required", Code.InvalidArgument);
  // Not shown: a claims object given in its place may hold what must not reach a log.
  if (typeof o.token !== "string") throw new ConnectError(`token must be an access token (a JWT string, signed by your backend with generateVollyAccessToken or a LiveKit server SDK), not ${Array.isArray(o.token) ? "an array" : typeof o.token === "object" ? "an object" : `a ${typeof o.token}`}`, Code.InvalidArgument);
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(o.token);
  } catch {
    throw new ConnectError("token is not a JWT", Code.InvalidArgument);
  }
  const identity = typeof claims.sub === "string" ? claims.sub : "";
  const tokenKeyPair = tokenBoundKeyPair(claims, o.tokenKeyPair);
  const WebSocketImpl = o.webSocket ?? (globalThis.WebSocket as WebSocketConstructor | undefined);
  if (WebSocketImpl === undefined) {
    throw new ConnectError("no WebSocket implementation: pass `webSocket` (e.g. the `ws` package in Node 20)", Code.FailedPrecondition);
  }
  const algorithm = parsePqAlgorithm(o.pqAlgorithm ?? DEFAULT_PQ_ALGORITHM);
  if (algorithm === undefined) throw new ConnectError(`unsupported pqAlgorithm ${JSON.stringify(o.pqAlgorithm)}`, Code.InvalidArgument);
  const requestTimeoutMs = positiveMs("requestTimeoutMs", o.requestTimeoutMs) ?? 20_000;
  const format = o.format ?? "protobuf";
  if (!WIRE_FORMATS.includes(format)) throw badOption("format", "'protobuf', 'json' or 'flat'", format);
  return {
    identity,
    token: o.token,
    settings: {
      url: checkedUrl(o.url ?? defaultUrl()),
      format,
      postQuantum: o.postQuantum ?? true,
      algorithm,
      tokenKeyPair,
      WebSocket: WebSocketImpl,
      rekeyIntervalMs: positiveMs("rekeyIntervalMs", o.rekeyIntervalMs),
      requestTimeoutMs,
      connectTimeoutMs: positiveMs("connectTimeoutMs", o.connectTimeoutMs) ?? 10_000,
    },
    reconnect: o.reconnect === false ? false : resolveReconnectPolicy(o.reconnect),
    RTCPeerConnection: o.RTCPeerConnection ?? (globalThis.RTCPeerConnection as PeerConnectionConstructor | undefined),
    iceServers: o.iceServers,
    candidateFilter: o.candidateFilter,
    getUserMedia: o.getUserMedia,
    requestTimeoutMs,
    logger: o.logger ?? {},
  };
}

const WIRE_FORMATS: readonly unknown[] = ["protobuf", "json", "flat"];

/**
 * A duration option: undefined when not given, else a finite number of milliseconds above 0. Refused here, or
 * NaN or 0 would surface only at `connect()` as a timeout that says nothing of the option.
 */
function positiveMs(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw badOption(name, "a number of milliseconds above 0", value);
  }
  return value;
}

/** The server's address as given, refused at construction when it is not one a WebSocket can open. */
function checkedUrl(url: string): string {
  let protocol;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new ConnectError(`url ${JSON.stringify(url.slice(0, 200))} is not a URL (ws://host:7880)`, Code.InvalidArgument);
  }
  if (!["ws:", "wss:", "http:", "https:"].includes(protocol)) {
    throw new ConnectError(`url must be ws://, wss://, http:// or https://, not ${protocol}`, Code.InvalidArgument);
  }
  return url;
}

function defaultUrl(): string {
  const location = globalThis.location;
  if (location === undefined) throw new ConnectError("url is required", Code.InvalidArgument);
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/rtc`;
}
