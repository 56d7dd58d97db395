import { NONCE_BYTES, SESSION_ID_BYTES, isSessionId } from "../../protocol/pq/algorithms.js";
import type { PqAlgorithm } from "../../protocol/pq/algorithms.js";
import { constantTimeEqual, toHex, zeroize } from "../../protocol/pq/bytes.js";
import { decapsulate, generateKeyPair } from "../../protocol/pq/kem.js";
import type { KemKeyPair } from "../../protocol/pq/kem.js";
import { deriveHandshakeKeys, finishedMac, transcriptHash } from "../../protocol/pq/key-schedule.js";
import { PqError } from "../../protocol/pq/pq-error.js";
import type { PqPrimitives } from "../../protocol/pq/primitives.js";
import { createWebCryptoPrimitives } from "../../protocol/pq/webcrypto-primitives.js";
import { ClientPqSession } from "./client-session.js";

/** The client's `pq_handshake`. */
export interface ClientHandshakeMessage {
  algorithm: PqAlgorithm;
  clientPublicKey: Uint8Array;
  /** A label only: the server assigns the session id. */
  sessionId: string;
  clientNonce: Uint8Array;
}

/** The server's `pq_handshake_response` (`expiresAt` as a bigint from protobuf, or a number from JSON). */
export interface ClientHandshakeResponse {
  algorithm: string;
  kemCiphertext: Uint8Array;
  sessionId: string;
  serverNonce: Uint8Array;
  expiresAt: bigint | number;
  serverFinished: Uint8Array;
}

/** A verified handshake: send `clientFinished` as `pq_finished`, then use `session`. */
export interface ClientHandshakeResult {
  clientFinished: Uint8Array;
  session: ClientPqSession;
}

/** A handshake waiting for the server's `pq_handshake_response`. */
export interface PendingClientHandshake {
  /**
   * Decapsulates, derives the keys and verifies server_finished (constant time). Throws `PqError`
   * ("finished_invalid" for a wrong or tampered answer). Single use.
   */
  complete(response: ClientHandshakeResponse): Promise<ClientHandshakeResult>;
}

/** Way (b): the handshake message to send first, and the pending handshake. */
export interface StartedClientHandshake extends PendingClientHandshake {
  readonly message: ClientHandshakeMessage;
}

let defaultPrimitives: PqPrimitives | undefined;

function primitivesOr(p: PqPrimitives | undefined): PqPrimitives {
  return p ?? (defaultPrimitives ??= createWebCryptoPrimitives());
}

/**
 * Way (b), the SDK default: a fresh ephemeral key pair (forward secrecy) and a 32-byte client nonce. `label` is
 * sent as `session_id` (default: 32 random hex digits); the server keeps it only as a label.
 */
export async function startHandshake(options: {
  algorithm: PqAlgorithm;
  accessToken: string;
  primitives?: PqPrimitives;
  label?: string;
}): Promise<StartedClientHandshake> {
  const primitives = primitivesOr(options.primitives);
  const keyPair = await generateKeyPair(options.algorithm, primitives);
  const clientNonce = primitives.randomBytes(NONCE_BYTES);
  const message: ClientHandshakeMessage = {
    algorithm: options.algorithm,
    clientPublicKey: keyPair.publicKey,
    sessionId: options.label ?? toHex(primitives.randomBytes(SESSION_ID_BYTES)),
    clientNonce,
  };
  const pending = pendingHandshake(options.algorithm, options.accessToken, keyPair, clientNonce, primitives, true);
  return { message, complete: pending.complete };
}

/**
 * Way (a): the token carries `keyPair.publicKey` as `pqPublicKey`; the server speaks first and the client sends
 * no `pq_handshake` (client_nonce is empty). The key pair stays the caller's (it is not zeroized here); for the
 * hybrid its X25519 half must come from the same `primitives` (`generateKeyPair(algorithm, primitives)`).
 */
export function acceptTokenHandshake(options: {
  algorithm: PqAlgorithm;
  accessToken: string;
  keyPair: KemKeyPair;
  primitives?: PqPrimitives;
}): PendingClientHandshake {
  if (options.keyPair.secretKey.algorithm !== options.algorithm) {
    throw new PqError("secret_key_invalid", "token key pair is for another algorithm");
  }
  const primitives = primitivesOr(options.primitives);
  return pendingHandshake(options.algorithm, options.accessToken, options.keyPair, new Uint8Array(0), primitives, false);
}

function pendingHandshake(
  algorithm: PqAlgorithm,
  accessToken: string,
  keyPair: KemKeyPair,
  clientNonce: Uint8Array,
  p: PqPrimitives,
  ephemeral: boolean,
): PendingClientHandshake {
  let used = false;
  return {
    async complete(response) {
      if (used) throw new PqError("state", "handshake already completed");
      used = true;
      let ss: Uint8Array | undefined;
      let confirm: Uint8Array | undefined;
      try {
        if (response.algorithm !== algorithm) {
          throw new PqError("handshake_invalid", `server answered for ${JSON.stringify(response.algorithm)}, expected ${algorithm}`);
        }
        if (!isSessionId(response.sessionId)) throw new PqError("session_id_invalid", "session_id is not 32 lowercase hex digits");
        if (response.serverNonce.length !== NONCE_BYTES) throw new PqError("nonce_length", "server_nonce must be 32 bytes");
        const expiresAt = Number(response.expiresAt);
        if (!Number.isSafeInteger(expiresAt) || expiresAt <= 0) throw new PqError("handshake_invalid", "expires_at invalid");
        ss = await decapsulate(algorithm, response.kemCiphertext, keyPair.secretKey, p);
        const transcript = await transcriptHash(p, {
          algorithm,
          sessionId: response.sessionId,
          accessToken,
          clientNonce,
          serverNonce: response.serverNonce,
          clientPublicKey: keyPair.publicKey,
          kemCiphertext: response.kemCiphertext,
        });
        const keys = await deriveHandshakeKeys(p, ss, transcript);
        confirm = keys.confirm;
        const expected = await finishedMac(p, keys.confirm, "server", transcript);
        if (!constantTimeEqual(expected, response.serverFinished)) {
          zeroize(keys.c2s, keys.s2c, keys.chain, keys.exporter);
          throw new PqError("finished_invalid", "server_finished does not verify");
        }
        const clientFinished = await finishedMac(p, keys.confirm, "client", transcript);
        const session = new ClientPqSession({
          sessionId: response.sessionId,
          algorithm,
          expiresAt,
          keys: { c2s: keys.c2s, s2c: keys.s2c, chain: keys.chain, exporter: keys.exporter },
          primitives: p,
        });
        return { clientFinished, session };
      } finally {
        zeroize(ss, confirm);
        if (ephemeral) zeroize(keyPair.secretKey.mlkem);
      }
    },
  };
}
