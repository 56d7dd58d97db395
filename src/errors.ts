import { Code, ConnectError } from "@connectrpc/connect";
import { PQ_ALGORITHMS } from "./protocol/pq/algorithms.js";

/**
 * The error catalogue: every error the server sends to a client is built here, so each has a stable id,
 * a Connect code and a message that is safe to show. `docs/errors.md` lists every id
 * (test/core/errors.test.ts checks both directions). Transports map the code in one place (`httpStatusOf`,
 * `closeCodeOf`, `twirpCodeOf`, `toPublicError`); nothing else invents statuses.
 */
export const errors = {
  // Authentication and authorization (before or at the upgrade).
  tokenMissing: () => err("token_missing", Code.Unauthenticated, "no access token"),
  authorizationHeaderInvalid: () =>
    err("authorization_header_invalid", Code.Unauthenticated, "invalid authorization header. Must start with Bearer "),
  tokenInvalid: (detail: string) => err("token_invalid", Code.Unauthenticated, `invalid authorization token: ${detail}`),
  apiKeyUnknown: () => err("api_key_unknown", Code.Unauthenticated, "invalid API key"),
  noRoomGrant: () => err("no_room_grant", Code.PermissionDenied, "no permissions to access the room"),
  permissionDenied: (action: string) => err("permission_denied", Code.PermissionDenied, `permission denied: ${action}`),
  identityMissing: () => err("identity_missing", Code.InvalidArgument, "identity cannot be empty"),
  identityTooLong: (max: number) =>
    err("identity_too_long", Code.InvalidArgument, `identity must be at most ${max} characters, without control characters`),
  roomNameMissing: () => err("room_name_missing", Code.InvalidArgument, "no room name"),
  roomNameInvalid: (max: number) =>
    err("room_name_invalid", Code.InvalidArgument, `room name must be 1-${max} characters without control characters`),
  roomNotFound: () => err("room_not_found", Code.NotFound, "requested room does not exist"),
  roomFull: () => err("room_full", Code.ResourceExhausted, "room is full"),
  tooManyRooms: () => err("too_many_rooms", Code.ResourceExhausted, "the server has reached its room limit"),
  tooManyConnections: () => err("too_many_connections", Code.ResourceExhausted, "too many connections"),
  badQuery: (detail: string, source: "query" | "metadata" = "query") =>
    err("bad_query", Code.InvalidArgument, `invalid ${source === "query" ? "query" : "connect metadata"}: ${detail}`),
  /** A request line whose target is neither a path nor an absolute URL (`*`, a bare word), on either port. */
  malformedTarget: () => err("malformed_target", Code.InvalidArgument, "malformed request target"),

  // Messages inside a session.
  targetNotFound: () => err("target_not_found", Code.NotFound, "target participant is not in your room"),
  targetMissing: () => err("target_missing", Code.InvalidArgument, "target is required"),
  callNotFound: () => err("call_not_found", Code.NotFound, "no such call between you and the target"),
  callIdMissing: () => err("call_id_missing", Code.InvalidArgument, "call_id is required"),
  callSelf: () => err("call_self", Code.InvalidArgument, "a call needs another participant than yourself"),
  callIdInUse: () => err("call_id_in_use", Code.AlreadyExists, "call_id is already used by another call in this room"),
  malformedMessage: (detail: string) => err("malformed_message", Code.InvalidArgument, `malformed message: ${detail}`),
  unknownMessageType: (type: string) =>
    err("unknown_message_type", Code.InvalidArgument, `unknown message type ${JSON.stringify(type.slice(0, 64))}`),
  // By its wire name (pq_handshake), whether the caller has the oneof case (pqHandshake) or the wire name.
  unexpectedMessage: (type: string) =>
    err("unexpected_message", Code.FailedPrecondition, `message ${type.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)} is not allowed at this point`),
  frameTooLarge: (max: number) => err("frame_too_large", Code.ResourceExhausted, `frame larger than ${max} bytes`),
  tooManyFragments: (max: number) => err("too_many_fragments", Code.ResourceExhausted, `message in more than ${max} fragments`),
  fieldTooLarge: (field: string, max: number) =>
    err("field_too_large", Code.InvalidArgument, `${field} is larger than ${max} bytes`),
  /** A field that breaks a rule other than its size in bytes (a count, a character class). */
  fieldInvalid: (rule: string) => err("field_invalid", Code.InvalidArgument, rule),
  /** Over the message rate, or (`fanoutBytesPerSecond`) over the connection's broadcast budget (fanout-budget.ts). */
  rateLimited: (fanoutBytesPerSecond?: number) =>
    err("rate_limited", Code.ResourceExhausted, fanoutBytesPerSecond === undefined
      ? "too many messages, slow down"
      : `broadcasts over the fan-out budget (${byteSize(fanoutBytesPerSecond)} a second, bytes times recipients), slow down`),
  discoverTooMany: (max: number) =>
    err("discover_too_many", Code.InvalidArgument, `discover accepts at most ${max} identities`),
  slowConsumer: () => err("slow_consumer", Code.ResourceExhausted, "connection is not reading; send buffer overflow"),
  unackedLimit: (maxBytes: number) =>
    err("unacked_limit", Code.ResourceExhausted, `more than ${byteSize(maxBytes)} of messages not acknowledged (send ack or ping with last_message_id)`),
  pingTimeout: () => err("ping_timeout", Code.DeadlineExceeded, "no message within the ping timeout"),

  // Resume.
  resumeUnknown: () => err("resume_unknown", Code.NotFound, "participant cannot be resumed; join again"),
  resumeGap: () => err("resume_gap", Code.DataLoss, "missed messages are no longer available; join again"),

  // Post-quantum channel.
  pqRequired: () =>
    err("pq_required", Code.FailedPrecondition, "post-quantum handshake required; plaintext signaling is refused"),
  pqAlgorithmUnsupported: (alg: string) =>
    err("pq_algorithm_unsupported", Code.InvalidArgument, `unsupported algorithm ${JSON.stringify(alg.slice(0, 64))}; use ${PQ_ALGORITHMS.join(" or ")}`),
  pqHybridRequired: () =>
    err("pq_hybrid_required", Code.FailedPrecondition, "this server requires the X25519MLKEM768 hybrid"),
  pqKeyInvalid: (detail: string) => err("pq_key_invalid", Code.InvalidArgument, `invalid post-quantum public key: ${detail}`),
  pqKeyMismatch: () =>
    err("pq_key_mismatch", Code.PermissionDenied, "public key in the handshake differs from the key in the token"),
  pqKeyExpired: () => err("pq_key_expired", Code.Unauthenticated, "pqKeyExpiry has passed"),
  pqNonceInvalid: () => err("pq_nonce_invalid", Code.InvalidArgument, "client_nonce must be empty or 32 bytes"),
  pqHandshakeDuplicate: () => err("pq_handshake_duplicate", Code.FailedPrecondition, "a connection has exactly one handshake"),
  pqFinishedInvalid: () => err("pq_finished_invalid", Code.PermissionDenied, "key confirmation failed (client_finished)"),
  pqHandshakeTimeout: () => err("pq_handshake_timeout", Code.DeadlineExceeded, "post-quantum handshake did not complete in time"),
  pqRecordInvalid: () => err("pq_record_invalid", Code.DataLoss, "record refused (epoch, sequence, tag or content)"),
  pqRekeyInvalid: (detail: string) => err("pq_rekey_invalid", Code.InvalidArgument, `invalid rekey: ${detail}`),
  pqRekeyOverdue: () => err("pq_rekey_overdue", Code.FailedPrecondition, "rekey interval passed without a rekey"),
  pqSessionExpired: () => err("pq_session_expired", Code.Unauthenticated, "post-quantum session expired; reconnect"),

  // Room administration (RoomService over Connect/gRPC/gRPC-web and LiveKit's Twirp).
  roomListRequired: () => err("room_list_required", Code.PermissionDenied, "permission denied: listing rooms needs the roomList grant"),
  roomCreateRequired: () =>
    err("room_create_required", Code.PermissionDenied, "permission denied: creating or deleting rooms needs the roomCreate grant"),
  roomAdminRequired: (room: string) =>
    err("room_admin_required", Code.PermissionDenied, `permission denied: needs the roomAdmin grant for room ${JSON.stringify(String(room).slice(0, 256))}`),
  statsGrantRequired: () =>
    err("stats_grant_required", Code.PermissionDenied, "permission denied: session stats need the roomList or roomAdmin grant"),
  participantNotFound: () => err("participant_not_found", Code.NotFound, "participant does not exist"),
  changeBusy: (what: "participant" | "room") => err("change_busy", Code.Aborted, `another change to this ${what} is in progress, try again`),
  permissionUpdateUnsupported: () =>
    err("permission_update_unsupported", Code.Unimplemented, "changing a participant's permissions is not supported; give it a new token"),
  /** A request body in a Content-Encoding (or grpc-encoding) the route does not decode: see `requestBodyError`. */
  compressionUnsupported: (encoding: string) =>
    err("compression_unsupported", Code.Unimplemented, `request compression ${JSON.stringify(encoding.slice(0, 32))} is not supported; send the body uncompressed`),
  /**
   * A gRPC or Connect-streaming message with the compressed flag but no `grpc-encoding` (Connect:
   * `connect-content-encoding`): gRPC's compression spec answers internal, but in our words, not connect-es's.
   */
  compressedWithoutEncoding: () =>
    err("compressed_without_encoding", Code.Internal, "a message is flagged compressed but the request names no encoding (grpc-encoding); send it uncompressed or name its encoding"),
  /** Twirp's own code (`bad_route`, 404) on the Twirp routes: see `twirpCodeOf`. */
  badRoute: (detail: string) => err("bad_route", Code.NotFound, `bad route: ${detail}`),
  /** A LiveKit RoomService method Volly knows but does not serve (they act on media tracks or agents). */
  methodNotServed: (method: string) =>
    err("method_not_served", Code.Unimplemented, `${method} is not served: Volly relays signaling, not media`),
  /** A gRPC or gRPC-web request to a path no service serves (Connect clients get HTTP 404, as their protocol says). */
  rpcNotFound: (path: string) => err("rpc_not_found", Code.Unimplemented, `unknown service or method ${path.slice(0, 200)}`),
  reflectionNotFound: (what: string) => err("reflection_not_found", Code.NotFound, `${what.slice(0, 300)} not found`),
  /**
   * A reflection stream that asked nothing for the request timeout: reflection needs no token, so a stream
   * may not wait for ever. deadline_exceeded, as for any other deadline the server keeps.
   */
  reflectionIdle: (seconds: number) =>
    err("reflection_idle", Code.DeadlineExceeded, `no reflection request for ${seconds} s; the stream is closed, open a new one to ask again`),
  tooManyReflectionStreams: (max: number) =>
    err("too_many_reflection_streams", Code.ResourceExhausted, `too many reflection streams open on this server (at most ${max}); try again when one has closed`),
  /**
   * An RPC request body over the API's limit. resource_exhausted is what gRPC and Connect servers answer
   * for a message over the configured size (so 429 over HTTP); the message says the limit is the body's.
   */
  requestTooLarge: (maxBytes: number) =>
    err("request_too_large", Code.ResourceExhausted, `request body larger than ${byteSize(maxBytes)}`),

  // Operations.
  storeUnavailable: () => err("store_unavailable", Code.Unavailable, "storage is unavailable, try again"),
  /**
   * The store took the request but did not answer in time: it may still carry it out when it wakes (Redis
   * runs what it has read). deadline_exceeded is gRPC's code for exactly that ambiguity, where unavailable
   * tells a client that retrying is safe.
   */
  storeTimeout: () => err("store_timeout", Code.DeadlineExceeded, "storage did not answer in time; the request may still take effect"),
  /**
   * The client's own deadline (`grpc-timeout`, `connect-timeout-ms`) passed. A unary call that ran out of
   * time may still take effect, as with `store_timeout`; a signal stream ends as a drop the client may resume.
   */
  callDeadline: (kind: "call" | "stream") =>
    err("call_deadline", Code.DeadlineExceeded, kind === "call"
      ? "the call's deadline passed before it finished; the request may still take effect"
      : "the stream's deadline passed; resume to carry on"),
  internal: () => err("internal", Code.Internal, "internal error"),
} as const;

/** A catalogue id as on the wire, in logs and in docs/errors.md (`token_missing`): the union of every entry's id. */
export type ErrorId = ReturnType<(typeof errors)[keyof typeof errors]>[typeof idKey];

const idKey: unique symbol = Symbol.for("volly.errorId");

// Typed with its literal id so that `ErrorId` is derived from the entries, and a comparison with a
// misspelt id fails to compile.
type CatalogueError<Id extends string> = ConnectError & { readonly [idKey]: Id };

function err<const Id extends string>(id: Id, code: Code, message: string): CatalogueError<Id> {
  const e = new ConnectError(message, code);
  Object.defineProperty(e, idKey, { value: id, enumerable: false });
  return e as CatalogueError<Id>;
}

/** A byte count as people write it: `1 MiB`, `64 KiB`, `1000 bytes`. */
function byteSize(n: number): string {
  if (n > 0 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n > 0 && n % (1 << 10) === 0) return `${n / (1 << 10)} KiB`;
  return `${n} bytes`;
}

/** The catalogue id of an error built by `errors`, if it is one. */
export function errorIdOf(e: unknown): ErrorId | undefined {
  return e instanceof ConnectError ? (e as Partial<CatalogueError<ErrorId>>)[idKey] : undefined;
}

/**
 * Turns anything thrown into an error that is safe to send: catalogue errors pass unchanged, anything else
 * becomes a generic `internal` (the original is for the log only).
 */
export function toPublicError(e: unknown): ConnectError {
  if (e instanceof ConnectError && errorIdOf(e) !== undefined) return e;
  return errors.internal();
}

/** Connect code names as on the wire (`permission_denied`). */
export function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** The inverse of `codeName`; unknown names are `Code.Unknown`. */
export function codeFromName(name: string): Code {
  const found = (Object.values(Code) as Array<string | Code>).find(
    (c): c is Code => typeof c === "number" && codeName(c) === name,
  );
  return found ?? Code.Unknown;
}

/** HTTP status for an error answered before a WebSocket upgrade or on a REST route (Connect's mapping). */
export function httpStatusOf(code: Code): number {
  switch (code) {
    case Code.Canceled: return 499;
    case Code.InvalidArgument: return 400;
    case Code.DeadlineExceeded: return 504;
    case Code.NotFound: return 404;
    case Code.AlreadyExists: return 409;
    case Code.PermissionDenied: return 403;
    case Code.ResourceExhausted: return 429;
    case Code.FailedPrecondition: return 400;
    case Code.Aborted: return 409;
    case Code.OutOfRange: return 400;
    case Code.Unimplemented: return 501;
    case Code.Unavailable: return 503;
    case Code.Unauthenticated: return 401;
    default: return 500;
  }
}

/** WebSocket close code for a fatal error: 4000 + the Connect code (4016 unauthenticated, 4015 data loss). */
export function closeCodeOf(code: Code): number {
  return 4000 + code;
}

/**
 * Twirp error code and HTTP status (Twirp's own table differs from Connect's for a few codes). `errorId` is
 * the catalogue id when known: Twirp has two codes Connect lacks, `bad_route` for a request no method
 * takes and `malformed` for a body that does not decode (what Twirp's Go servers, LiveKit's among them,
 * answer; same status as invalid_argument).
 */
export function twirpCodeOf(code: Code, errorId?: ErrorId): { code: string; status: number } {
  if (errorId === "bad_route") return { code: "bad_route", status: 404 };
  if (errorId === "malformed_message") return { code: "malformed", status: 400 };
  switch (code) {
    case Code.Canceled: return { code: "canceled", status: 408 };
    case Code.DeadlineExceeded: return { code: "deadline_exceeded", status: 408 };
    case Code.FailedPrecondition: return { code: "failed_precondition", status: 412 };
    case Code.DataLoss: return { code: "dataloss", status: 500 };
    default: return { code: codeName(code), status: httpStatusOf(code) };
  }
}
