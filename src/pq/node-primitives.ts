import {
  KeyObject,
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomFillSync,
} from "node:crypto";
import { isAllZero, zeroize } from "../protocol/pq/bytes.js";
import { PqError } from "../protocol/pq/pq-error.js";
import type { PqPrimitives, X25519KeyPair, X25519PrivateKey } from "../protocol/pq/primitives.js";
import { sha256 } from "./sha256.js";

/**
 * Random bytes drawn from a pool that is refilled 4 KiB at a time. A join draws random bytes five times
 * (connection id, participant sid, room sid, session id, server nonce, the ML-KEM message) and each
 * `randomFillSync` call costs ~5 µs of fixed overhead whatever its size, so a pool takes ~25 µs off every
 * join. The bytes are the same OpenSSL CSPRNG output; each byte is handed out once and wiped from the pool
 * as it is, so no copy of a secret (the ML-KEM message) stays behind. Node's `randomUUID` pools the same way.
 */
const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let poolOffset = POOL_BYTES;

/** Fills `out` with CSPRNG bytes; returns `out`. */
export function randomFill(out: Uint8Array): Uint8Array {
  const n = out.length;
  if (n > POOL_BYTES / 4) return randomFillSync(out);
  if (poolOffset + n > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const taken = pool.subarray(poolOffset, poolOffset + n);
  out.set(taken);
  taken.fill(0);
  poolOffset += n;
  return out;
}

/** `n` fresh CSPRNG bytes from the pool. */
export function randomBytesPooled(n: number): Uint8Array {
  return randomFill(new Uint8Array(n));
}

/** A plain Uint8Array view over a Buffer's bytes (no copy), so callers and tests see one type. */
export function bytes(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

const { sha256: sha256Sync, hmacSha256: hmacSha256Sync } = sha256;

/** HKDF-Expand (RFC 5869 §2.3) with SHA-256, synchronously. */
function hkdfExpandSync(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 255 * 32) throw new RangeError("HKDF length");
  if (length === 32) {
    // Every key of the schedule: one block, T(1) = HMAC(prk, info ‖ 0x01), in one update.
    const input = new Uint8Array(info.length + 1);
    input.set(info, 0);
    input[info.length] = 1;
    return hmacSha256Sync(prk, input);
  }
  // T(i) = HMAC(prk, T(i-1) ‖ info ‖ i), T(0) empty: the input's tail is the same for every block.
  const out = new Uint8Array(length);
  const input = new Uint8Array(32 + info.length + 1);
  input.set(info, 32);
  let previous: Uint8Array = new Uint8Array(0);
  for (let i = 1, offset = 0; offset < length; i++) {
    input[input.length - 1] = i;
    const t = hmacSha256Sync(prk, i === 1 ? input.subarray(32) : input);
    out.set(t.subarray(0, Math.min(32, length - offset)), offset);
    offset += 32;
    zeroize(previous);
    previous = t;
    input.set(t, 0);
  }
  zeroize(previous);
  zeroize(input);
  return out;
}

/** AES-256-GCM seal, synchronously: ciphertext ‖ 16-byte tag. */
function aesGcmSealSync(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: 16 });
  cipher.setAAD(aad);
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  const tag = cipher.getAuthTag();
  const out = new Uint8Array(head.length + tail.length + 16);
  out.set(head, 0);
  out.set(tail, head.length);
  out.set(tag, head.length + tail.length);
  return out;
}

/** AES-256-GCM open, synchronously; throws `PqError("aead_failed")` on a bad tag or a short input. */
function aesGcmOpenSync(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertextWithTag: Uint8Array): Uint8Array {
  if (ciphertextWithTag.length < 16) throw new PqError("aead_failed", "ciphertext shorter than its tag");
  const split = ciphertextWithTag.length - 16;
  const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: 16 });
  decipher.setAAD(aad);
  decipher.setAuthTag(ciphertextWithTag.subarray(split));
  const head = decipher.update(ciphertextWithTag.subarray(0, split));
  let tail: Buffer;
  try {
    tail = decipher.final();
  } catch {
    head.fill(0);
    throw new PqError("aead_failed", "AES-GCM authentication failed");
  }
  if (tail.length === 0) return bytes(head);
  const out = new Uint8Array(head.length + tail.length);
  out.set(head, 0);
  out.set(tail, head.length);
  return out;
}

// Raw X25519 keys go through JWK rather than SPKI DER: on Node 20 a JWK export/import measured 64/10 µs against
// 148/125 µs for DER (OpenSSL's DER encoder/decoder setup dominates the 50 µs of the DH itself).

/** A fresh X25519 key pair; the private key is a node `KeyObject`. */
function x25519GenerateSync(): X25519KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("x25519");
  const jwk = publicKey.export({ format: "jwk" });
  if (typeof jwk.x !== "string") throw new Error("X25519 JWK export without x");
  const raw = bytes(Buffer.from(jwk.x, "base64url"));
  if (raw.length !== 32) throw new Error("X25519 JWK export of the wrong length");
  return { publicKey: raw, privateKey };
}

/** X25519(privateKey, peer) with a raw 32-byte peer key; refuses an all-zero result (`PqError("x25519_zero")`). */
function x25519DeriveSync(privateKey: X25519PrivateKey, peerPublicKey: Uint8Array): Uint8Array {
  if (!(privateKey instanceof KeyObject) || privateKey.type !== "private") {
    throw new TypeError("X25519 private key is not a node KeyObject");
  }
  if (peerPublicKey.length !== 32) throw new PqError("x25519_invalid", "X25519 public key must be 32 bytes");
  const x = Buffer.from(peerPublicKey.buffer, peerPublicKey.byteOffset, peerPublicKey.byteLength).toString("base64url");
  let peer: KeyObject;
  try {
    peer = createPublicKey({ key: { kty: "OKP", crv: "X25519", x }, format: "jwk" });
  } catch {
    throw new PqError("x25519_invalid", "X25519 public key cannot be imported");
  }
  let secret: Uint8Array;
  try {
    secret = bytes(diffieHellman({ privateKey, publicKey: peer }));
  } catch {
    // OpenSSL fails the derivation exactly when the result is all zeros (low-order peer points).
    throw new PqError("x25519_zero", "X25519 share yields an all-zero secret");
  }
  if (isAllZero(secret)) throw new PqError("x25519_zero", "X25519 share yields an all-zero secret");
  return secret;
}

/**
 * `PqPrimitives` over `node:crypto`. Every operation is synchronous underneath (the promises are already settled),
 * which keeps the server's handshake cheap.
 */
function createNodePrimitives(): PqPrimitives {
  return {
    sha256: async (data) => sha256Sync(data),
    // HKDF-Extract is HMAC(salt, ikm) (RFC 5869 §2.2); node's hkdfSync always does extract and expand together.
    hkdfExtract: async (salt, ikm) => hmacSha256Sync(salt, ikm),
    hkdfExpand: async (prk, info, length) => hkdfExpandSync(prk, info, length),
    hmacSha256: async (key, data) => hmacSha256Sync(key, data),
    aesGcmSeal: async (key, nonce, aad, plaintext) => aesGcmSealSync(key, nonce, aad, plaintext),
    aesGcmOpen: async (key, nonce, aad, ct) => aesGcmOpenSync(key, nonce, aad, ct),
    x25519Generate: async () => x25519GenerateSync(),
    x25519Derive: async (privateKey, peer) => x25519DeriveSync(privateKey, peer),
    randomBytes: randomBytesPooled,
  };
}

/** The process-wide node primitives. */
export const nodePrimitives: PqPrimitives = createNodePrimitives();
