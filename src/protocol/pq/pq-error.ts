/**
 * Why a post-quantum operation was refused. The shared code (also bundled into the browser SDK) cannot use the
 * server's error catalogue, so it throws `PqError` and the server maps each kind to a catalogue entry
 * (`src/pq/pq-error-map.ts`).
 */
export type PqErrorKind =
  | "algorithm_unsupported" // not exactly "ML-KEM-768" or "X25519MLKEM768"
  | "key_length" // public (encapsulation) key of the wrong length
  | "key_modulus" // FIPS 203 §7.2 modulus check failed
  | "secret_key_invalid" // FIPS 203 §7.3 decapsulation key check failed (length or H(ek))
  | "ciphertext_length" // KEM ciphertext of the wrong length
  | "x25519_invalid" // an X25519 public key that cannot be imported
  | "x25519_zero" // an X25519 share that yields an all-zero secret
  | "nonce_length" // client/server nonce neither empty nor 32 bytes where allowed
  | "session_id_invalid" // not 32 lowercase hex digits
  | "handshake_invalid" // a handshake message that does not fit the handshake in progress
  | "finished_invalid" // key confirmation MAC did not verify
  | "record_invalid" // record refused: epoch, seq, tag or length
  | "aead_failed" // AES-GCM authentication failed
  | "rekey_invalid" // rekey message refused
  | "state"; // operation not allowed in the current state (destroyed, rekey in progress, ...)

/** A typed post-quantum protocol error; `kind` is stable, `message` is for logs. */
export class PqError extends Error {
  override readonly name = "PqError";
  readonly kind: PqErrorKind;

  constructor(kind: PqErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

/** True when `e` is a `PqError` (optionally of the given kind). */
export function isPqError(e: unknown, kind?: PqErrorKind): e is PqError {
  return e instanceof PqError && (kind === undefined || e.kind === kind);
}
