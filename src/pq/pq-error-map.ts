import { errors } from "../errors.js";
import { isPqError } from "../protocol/pq/pq-error.js";

/**
 * Maps an error from the shared post-quantum code (`PqError`) to the server's catalogue. `context` says what the
 * peer was doing: a malformed key is `pq_key_invalid` in a handshake and `pq_rekey_invalid` in a rekey. Anything
 * that is not a `PqError` is returned unchanged (catalogue errors pass through; the transport turns the rest into
 * `internal`).
 */
export function toCatalogueError(e: unknown, context: "handshake" | "rekey"): unknown {
  if (!isPqError(e)) return e;
  switch (e.kind) {
    case "key_length":
    case "key_modulus":
    case "x25519_invalid":
    case "x25519_zero":
      return context === "rekey" ? errors.pqRekeyInvalid(e.message) : errors.pqKeyInvalid(e.message);
    case "nonce_length":
      return errors.pqNonceInvalid();
    case "finished_invalid":
      return errors.pqFinishedInvalid();
    case "record_invalid":
    case "aead_failed":
      return errors.pqRecordInvalid();
    case "rekey_invalid":
      return errors.pqRekeyInvalid(e.message);
    case "algorithm_unsupported":
    case "secret_key_invalid":
    case "ciphertext_length":
    case "session_id_invalid":
    case "handshake_invalid":
    case "state":
      // The server never decapsulates nor parses server messages: these can only be our own bug.
      return errors.internal();
  }
}
