/**
 * The classical primitives behind the post-quantum channel, so the shared handshake and key-schedule code runs
 * over `node:crypto` on the server (`src/pq/node-primitives.ts`) and over WebCrypto in browsers
 * (`webcrypto-primitives.ts`). All outputs are fresh arrays the caller owns (and may zeroize).
 */

/** An X25519 private key held by the primitives implementation (a CryptoKey or a node KeyObject); opaque. */
export type X25519PrivateKey = object;

/** An X25519 key pair: the raw 32-byte public key and an opaque private key. */
export interface X25519KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: X25519PrivateKey;
}

/** SHA-256, HKDF (RFC 5869, split into its two steps), HMAC, AES-256-GCM, X25519 and randomness. */
export interface PqPrimitives {
  /** SHA-256(data), 32 bytes. */
  sha256(data: Uint8Array): Promise<Uint8Array>;
  /** HKDF-Extract with SHA-256: HMAC-SHA256(key = salt, data = ikm), 32 bytes. */
  hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array>;
  /** HKDF-Expand with SHA-256: `length` bytes (at most 255 × 32) from `prk` and `info`. */
  hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array>;
  /** HMAC-SHA256(key, data), 32 bytes. */
  hmacSha256(key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  /** AES-256-GCM encryption with a 12-byte nonce; returns ciphertext ‖ 16-byte tag (the WebCrypto layout). */
  aesGcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** AES-256-GCM decryption of ciphertext ‖ tag; throws `PqError("aead_failed")` on a bad tag or a short input. */
  aesGcmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertextWithTag: Uint8Array): Promise<Uint8Array>;
  /** A fresh X25519 key pair. */
  x25519Generate(): Promise<X25519KeyPair>;
  /**
   * The 32-byte X25519 shared secret with a raw 32-byte peer key. Throws `PqError("x25519_invalid")` for a key
   * that is not 32 bytes or cannot be imported, `PqError("x25519_zero")` when the result is all zeros.
   */
  x25519Derive(privateKey: X25519PrivateKey, peerPublicKey: Uint8Array): Promise<Uint8Array>;
  /** `n` bytes from a cryptographically secure generator (synchronous in every runtime we target). */
  randomBytes(n: number): Uint8Array;
}
