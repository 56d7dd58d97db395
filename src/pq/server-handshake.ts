import { errors } from "../errors.js";
import {
  DEFAULT_PQ_ALGORITHM,
  MLKEM768_EK_BYTES,
  NONCE_BYTES,
  SESSION_ID_BYTES,
  isHybrid,
  parsePqAlgorithm,
  publicKeyLength,
} from "../protocol/pq/algorithms.js";
import type { PqAlgorithm } from "../protocol/pq/algorithms.js";
import { constantTimeEqual, toHex, zeroize } from "../protocol/pq/bytes.js";
import { encapsulate } from "../protocol/pq/kem.js";
import { deriveHandshakeKeys, finishedMac, transcriptHash } from "../protocol/pq/key-schedule.js";
import type { HandshakeKeys } from "../protocol/pq/key-schedule.js";
import type { PqPrimitives } from "../protocol/pq/primitives.js";
import { nodePrimitives } from "./node-primitives.js";
import { toCatalogueError } from "./pq-error-map.js";
import { PqSession } from "./pq-session.js";

/** Server policy (VOLLY_PQ_ALGORITHM, the hybrid switch, VOLLY_PQ_SESSION_TIMEOUT in ms). */
export interface PqPolicy {
  /** Used when a `pq_handshake` leaves `algorithm` empty (a missing field); the response names it. */
  defaultAlgorithm: PqAlgorithm;
  /** Refuse `ML-KEM-768` alone (`pq_hybrid_required`). */
  requireHybrid: boolean;
  sessionTimeoutMs: number;
}

/** What the authenticated token says about PQ (see `validateTokenPqClaims`). */
export interface PqTokenBinding {
  /** The compact JWT exactly as it authenticated the connection. */
  accessToken: string;
  /** The token's `pqPublicKey`, decoded: 1184 bytes, or the full 1216-byte share for the hybrid. */
  publicKey?: Uint8Array;
  /** The token's `pqAlgorithm`; `ML-KEM-768` when a key is present without it. */
  algorithm?: PqAlgorithm;
  /** The token's `pqKeyExpiry`, milliseconds since the epoch. */
  keyExpiry?: number;
}

/** The client's `pq_handshake`. */
export interface PqHandshakeFields {
  algorithm: string;
  clientPublicKey: Uint8Array;
  sessionId: string;
  clientNonce: Uint8Array;
}

/** The server's `pq_handshake_response`. */
export interface PqHandshakeResponseFields {
  algorithm: PqAlgorithm;
  kemCiphertext: Uint8Array;
  sessionId: string;
  serverNonce: Uint8Array;
  expiresAt: bigint;
  serverFinished: Uint8Array;
}

/** The client's `pq_finished`. */
export interface PqFinishedFields {
  clientFinished: Uint8Array;
}

/** Where the handshake stands. */
export type ServerHandshakeState = "new" | "responding" | "awaiting_finished" | "established" | "failed";

/** Inputs of one connection's handshake. */
export interface ServerHandshakeOptions {
  policy: PqPolicy;
  token: PqTokenBinding;
  /** The clock of the session's `created_at`/`expires_at` (the server's: the cluster's clock). Default `Date.now`. */
  now?: () => number;
  /**
   * The clock the token's `pqKeyExpiry` is judged on: the wall clock, as for every token claim (its backend
   * minted it on its own). Default `now`.
   */
  tokenNow?: () => number;
  primitives?: PqPrimitives;
}

/** Longest client-proposed session id kept as a label (it is the client's free text). */
const MAX_LABEL_LENGTH = 128;

interface Pending {
  sessionId: string;
  algorithm: PqAlgorithm;
  label: string;
  expiresAt: number;
  keys: Omit<HandshakeKeys, "confirm">;
  clientFinished: Uint8Array;
}

/**
 * The server side of the post-quantum handshake for ONE connection (DESIGN §5). Way (a): the token carries a key,
 * `start()` encapsulates to it at once. Way (b): the token carries none, `onHandshake()` answers the client's
 * `pq_handshake`. Then `onFinished()` verifies client_finished and returns the established `PqSession`. Every
 * refusal throws a catalogue error and leaves the handshake `failed`.
 */
export class ServerHandshake {
  private readonly policy: PqPolicy;
  private readonly token: PqTokenBinding;
  private readonly now: () => number;
  private readonly tokenNow: () => number;
  private readonly primitives: PqPrimitives;
  private current: ServerHandshakeState = "new";
  private pending: Pending | undefined;
  private chosen: PqAlgorithm | undefined;

  constructor(options: ServerHandshakeOptions) {
    this.policy = options.policy;
    this.token = options.token;
    this.now = options.now ?? Date.now;
    this.tokenNow = options.tokenNow ?? this.now;
    this.primitives = options.primitives ?? nodePrimitives;
  }

  /** Where the handshake stands. */
  get state(): ServerHandshakeState {
    return this.current;
  }

  /** The algorithm of this handshake once it is known (from the token, or the client's `pq_handshake`). */
  get algorithm(): PqAlgorithm | undefined {
    return this.chosen;
  }

  /** "token" when the token carries a key (way a), else "message" (way b). */
  get way(): "token" | "message" {
    return this.token.publicKey === undefined ? "message" : "token";
  }

  /**
   * Way (a): when the token carries `pqPublicKey`, encapsulates to it (client_nonce empty) and returns the
   * `pq_handshake_response` to send right after the upgrade; otherwise returns undefined and waits for
   * `pq_handshake`. Call it once, right after the upgrade.
   */
  async start(): Promise<PqHandshakeResponseFields | undefined> {
    const key = this.token.publicKey;
    if (key === undefined) return undefined;
    if (this.current !== "new") throw errors.pqHandshakeDuplicate();
    this.current = "responding";
    try {
      const algorithm = this.token.algorithm ?? DEFAULT_PQ_ALGORITHM;
      this.chosen = algorithm;
      if (this.policy.requireHybrid && !isHybrid(algorithm)) throw errors.pqHybridRequired();
      if (this.token.keyExpiry !== undefined && this.token.keyExpiry <= this.tokenNow()) throw errors.pqKeyExpired();
      return await this.respond(algorithm, key, new Uint8Array(0), "");
    } catch (e) {
      this.fail();
      throw toCatalogueError(e, "handshake");
    }
  }

  /**
   * Way (b): answers the client's `pq_handshake`. When the token carries a key (way a), a `pq_handshake` with the
   * same key (for the hybrid: the same ML-KEM part) is ignored (returns undefined) and another key is refused
   * (`pq_key_mismatch`). A second `pq_handshake` in way (b) is `pq_handshake_duplicate`.
   */
  async onHandshake(msg: PqHandshakeFields): Promise<PqHandshakeResponseFields | undefined> {
    try {
      const algorithm = msg.algorithm === "" ? this.policy.defaultAlgorithm : parsePqAlgorithm(msg.algorithm);
      if (algorithm === undefined) throw errors.pqAlgorithmUnsupported(msg.algorithm);
      this.chosen ??= algorithm;
      if (msg.clientNonce.length !== 0 && msg.clientNonce.length !== NONCE_BYTES) throw errors.pqNonceInvalid();
      const tokenKey = this.token.publicKey;
      if (tokenKey !== undefined) {
        const expected = publicKeyLength(algorithm);
        if (msg.clientPublicKey.length !== expected) {
          throw errors.pqKeyInvalid(`${algorithm} public key must be ${expected} bytes, got ${msg.clientPublicKey.length}`);
        }
        const ek = msg.clientPublicKey.subarray(0, MLKEM768_EK_BYTES);
        if (!constantTimeEqual(ek, tokenKey.subarray(0, MLKEM768_EK_BYTES))) throw errors.pqKeyMismatch();
        return undefined;
      }
      if (this.current !== "new") throw errors.pqHandshakeDuplicate();
      this.current = "responding";
      if (this.policy.requireHybrid && !isHybrid(algorithm)) throw errors.pqHybridRequired();
      const label = msg.sessionId.slice(0, MAX_LABEL_LENGTH);
      return await this.respond(algorithm, msg.clientPublicKey, msg.clientNonce, label);
    } catch (e) {
      // A refused handshake message is fatal for the connection: nothing of this handshake may be used afterwards.
      this.fail();
      throw toCatalogueError(e, "handshake");
    }
  }

  /**
   * Verifies `pq_finished` (constant time). On success returns the established session (which owns the keys);
   * on failure throws `pq_finished_invalid` and zeroizes everything.
   */
  async onFinished(msg: PqFinishedFields): Promise<PqSession> {
    const pending = this.pending;
    if (this.current !== "awaiting_finished" || pending === undefined) throw errors.unexpectedMessage("pq_finished");
    this.pending = undefined;
    const ok = constantTimeEqual(msg.clientFinished, pending.clientFinished);
    zeroize(pending.clientFinished);
    if (!ok) {
      zeroize(pending.keys.c2s, pending.keys.s2c, pending.keys.chain, pending.keys.exporter);
      this.current = "failed";
      throw errors.pqFinishedInvalid();
    }
    this.current = "established";
    return new PqSession({
      sessionId: pending.sessionId,
      algorithm: pending.algorithm,
      label: pending.label,
      createdAt: this.now(),
      expiresAt: pending.expiresAt,
      keys: pending.keys,
      primitives: this.primitives,
      now: this.now,
    });
  }

  /** Zeroizes a handshake that will not complete (connection closed or timed out before pq_finished). */
  destroy(): void {
    if (this.current === "established") return;
    this.fail();
  }

  private async respond(
    algorithm: PqAlgorithm,
    clientPublicKey: Uint8Array,
    clientNonce: Uint8Array,
    label: string,
  ): Promise<PqHandshakeResponseFields> {
    const p = this.primitives;
    const { ciphertext, sharedSecret } = await encapsulate(algorithm, clientPublicKey, p);
    const sessionId = toHex(p.randomBytes(SESSION_ID_BYTES));
    const serverNonce = p.randomBytes(NONCE_BYTES);
    const expiresAt = this.now() + this.policy.sessionTimeoutMs;
    const { accessToken } = this.token;
    let transcript: Uint8Array;
    let keys: HandshakeKeys;
    try {
      const t = { algorithm, sessionId, accessToken, clientNonce, serverNonce, clientPublicKey, kemCiphertext: ciphertext };
      transcript = await transcriptHash(p, t);
      keys = await deriveHandshakeKeys(p, sharedSecret, transcript);
    } finally {
      zeroize(sharedSecret);
    }
    const { confirm, ...owned } = keys;
    const serverFinished = await finishedMac(p, confirm, "server", transcript);
    const clientFinished = await finishedMac(p, confirm, "client", transcript);
    zeroize(confirm);
    if (this.current !== "responding") {
      // destroy() or a refused duplicate ran meanwhile: nothing of this handshake may survive.
      zeroize(owned.c2s, owned.s2c, owned.chain, owned.exporter, clientFinished);
      throw errors.pqHandshakeTimeout();
    }
    this.pending = { sessionId, algorithm, label, expiresAt, keys: owned, clientFinished };
    this.current = "awaiting_finished";
    return { algorithm, kemCiphertext: ciphertext, sessionId, serverNonce, expiresAt: BigInt(expiresAt), serverFinished };
  }

  private fail(): void {
    const pending = this.pending;
    this.pending = undefined;
    if (pending !== undefined) {
      zeroize(pending.keys.c2s, pending.keys.s2c, pending.keys.chain, pending.keys.exporter, pending.clientFinished);
    }
    // An established session belongs to PqSession now; the caller closes the connection on the refusal.
    if (this.current !== "established") this.current = "failed";
  }
}
