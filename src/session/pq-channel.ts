import type { PqSessionInfo } from "../../gen/volly/signaling/v1/models_pb.js";
import type { RekeyRequest } from "../../gen/volly/signaling/v1/pq_pb.js";
import type { SignalRequest, SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import type { AccessClaims } from "../auth/access-token.js";
import type { TokenPqKey } from "../pq/token-pq-claims.js";
import type { ConnectionLog } from "./connection-log.js";

/**
 * The post-quantum layer of one connection, as the session uses it: the handshake before `join`, then
 * records. Every method throws catalogue errors; the session turns them into `error` + `leave` + close.
 */
export interface PqChannel {
  readonly established: boolean;
  /** Session facts for `join` (after establishment). */
  info(): PqSessionInfo | undefined;
  /** Way (a): the server-initiated `pq_handshake_response` when the token carries a key. */
  start(): Promise<SignalResponse | undefined>;
  /** A plaintext message before establishment: `pq_handshake` or `pq_finished`; anything else throws. */
  handshake(request: SignalRequest): Promise<{ reply: SignalResponse | undefined; established: boolean }>;
  /**
   * The handshake ended for a reason found outside the channel (a frame that does not decode, the
   * timeout): counted and logged as a failed handshake, as the channel's own refusals are.
   */
  handshakeFailed(error: unknown): void;
  /** Decrypts a record (strict epoch and sequence). */
  open(record: RecordFields): Uint8Array;
  /** Encrypts a plaintext into the next record. */
  seal(plaintext: Uint8Array): RecordFields;
  /** The epoch and seq the next record takes: the hot path frames a record before sealing it in place. */
  readonly sendEpoch: number;
  readonly sendSeq: number;
  /** Encrypts `view` = plaintext ‖ 16 spare bytes in place as the next record. */
  sealInPlace(view: Uint8Array): void;
  /** Decrypts a received record's ciphertext ‖ tag where it lies (the caller owns the bytes); returns the plaintext. */
  openInPlace(epoch: number, seq: number, view: Uint8Array): Uint8Array;
  /**
   * Handles a client `rekey`: `send` is called with the `rekey` answer, which must go out as the last
   * record of the old epoch; the send side switches right after it.
   */
  rekey(request: RekeyRequest, send: (response: SignalResponse) => void): Promise<void>;
  /** A reason to end the channel now (session expired, rekey overdue), if any. */
  check(monotonicNow: number): "expired" | "rekey_overdue" | undefined;
  /** Forgets the keys and ends the session record (counted as expired when `expired`). */
  end(expired: boolean): Promise<void>;
}

/** A `secure` record's fields (a plain object: the hot path builds no protobuf message for it). */
export interface RecordFields {
  readonly epoch: number;
  readonly seq: bigint;
  readonly ciphertext: Uint8Array;
}

/** What a channel needs to know about its connection. */
export interface PqChannelContext {
  readonly claims: AccessClaims;
  /** The token's validated PQ key (way a), if it binds one. */
  readonly pqKey: TokenPqKey | undefined;
  readonly connId: string;
  /** The connection's log. */
  readonly log: ConnectionLog;
  /** Called when the session is established, to record it (`session:<id>`). */
  readonly participant: { readonly sid: string; readonly room: string; readonly identity: string };
}

export type PqChannelFactory = (context: PqChannelContext) => PqChannel;
