import {
  DEFAULT_PQ_ALGORITHM,
  MLKEM768_DK_BYTES,
  MLKEM768_EK_BYTES,
  X25519_BYTES,
  isHybrid,
  parsePqAlgorithm,
  publicKeyLength,
  type PqAlgorithm,
} from "../protocol/pq/algorithms.js";
import { concat, constantTimeEqual } from "../protocol/pq/bytes.js";
import { checkDecapsulationKey, checkPublicKey, generateKeyPair, type KemKeyPair, type KemSecretKey } from "../protocol/pq/kem.js";
import { createWebCryptoPrimitives } from "../protocol/pq/webcrypto-primitives.js";
import { base64ToBytes, bytesToBase64 } from "./base64.js";
import { invalidArgument } from "./client-errors.js";

/**
 * A post-quantum key pair for a token (`pqPublicKey`, way (a) of the handshake): put `publicKey` (or
 * `publicKeyBase64`) in the token and give the whole pair to `VollySignalingClient` as `tokenKeyPair`.
 * `secretKey` is an opaque handle that never leaves the client: get a pair from `generatePqKeyPair()`, or from
 * stored bytes (the CLI's `token --pq` output) with `importPqKeyPair()`.
 */
export interface VollyPqKeyPair extends KemKeyPair {
  readonly algorithm: PqAlgorithm;
  /** The encapsulation key as standard base64, the token claim's encoding. */
  readonly publicKeyBase64: string;
}

/**
 * A stored key pair, in the layout `volly-signaling token --pq --json` prints as `pq` (extra fields such as
 * `keyExpiry` are ignored). Keys are bytes or standard base64.
 */
export interface VollyStoredPqKeyPair {
  /** "ML-KEM-768" or "X25519MLKEM768". */
  readonly algorithm: string;
  /** ML-KEM-768: ek (1184 bytes). X25519MLKEM768: ek ‖ X25519 public key (1216 bytes). */
  readonly publicKey: Uint8Array | string;
  /**
   * The expanded FIPS 203 ML-KEM-768 decapsulation key (2400 bytes), followed for X25519MLKEM768 by the raw
   * X25519 private key (32 bytes: 2432 in all).
   */
  readonly secretKey: Uint8Array | string;
}

/**
 * A fresh key pair for `algorithm` ("ML-KEM-768", the default, or the hybrid "X25519MLKEM768"): ML-KEM-768 from
 * `mlkem`, X25519 from WebCrypto. Throws `ConnectError` (`InvalidArgument`) for another algorithm name.
 */
export async function generatePqKeyPair(algorithm: PqAlgorithm = DEFAULT_PQ_ALGORITHM): Promise<VollyPqKeyPair> {
  const parsed = parsePqAlgorithm(algorithm);
  if (parsed === undefined) throw invalidArgument(`unsupported algorithm ${JSON.stringify(algorithm)}; use ML-KEM-768 or X25519MLKEM768`);
  const pair = await generateKeyPair(parsed, createWebCryptoPrimitives());
  return { algorithm: parsed, publicKey: pair.publicKey, secretKey: pair.secretKey, publicKeyBase64: bytesToBase64(pair.publicKey) };
}

/**
 * A stored key pair as a `VollyPqKeyPair` (for `tokenKeyPair`). Both halves are checked and must belong
 * together: lengths, the FIPS 203 key checks, the decapsulation key's embedded ek against `publicKey`, and the
 * X25519 private key against the public one. Throws `ConnectError` (`InvalidArgument`) otherwise.
 */
export async function importPqKeyPair(stored: VollyStoredPqKeyPair): Promise<VollyPqKeyPair> {
  if (typeof stored !== "object" || stored === null) throw invalidArgument("importPqKeyPair needs {algorithm, publicKey, secretKey}");
  const algorithm = parsePqAlgorithm(stored.algorithm);
  if (algorithm === undefined) throw invalidArgument(`unsupported algorithm ${JSON.stringify(stored.algorithm)}; use ML-KEM-768 or X25519MLKEM768`);
  const publicKey = keyBytes(stored.publicKey, "publicKey", publicKeyLength(algorithm));
  try {
    checkPublicKey(algorithm, publicKey);
  } catch (e) {
    throw invalidArgument(`publicKey is not a valid ${algorithm} key: ${e instanceof Error ? e.message : String(e)}`);
  }
  const secret = keyBytes(stored.secretKey, "secretKey", MLKEM768_DK_BYTES + (isHybrid(algorithm) ? X25519_BYTES : 0));
  const mlkem = secret.slice(0, MLKEM768_DK_BYTES);
  const problem = embeddedKeyProblem(mlkem, publicKey);
  if (problem !== undefined) throw invalidArgument(`secretKey ${problem}`);
  let secretKey: KemSecretKey = { algorithm, mlkem };
  if (isHybrid(algorithm)) {
    const x25519 = await importX25519(secret.subarray(MLKEM768_DK_BYTES), publicKey.subarray(MLKEM768_EK_BYTES));
    secretKey = { algorithm, mlkem, x25519 };
  }
  return { algorithm, publicKey, secretKey, publicKeyBase64: bytesToBase64(publicKey) };
}

/**
 * Why an expanded ML-KEM-768 decapsulation key cannot decapsulate for `publicKey` (its FIPS 203 hash check fails,
 * or the ek it embeds is another one), or undefined when it can.
 */
export function embeddedKeyProblem(mlkem: Uint8Array, publicKey: Uint8Array): string | undefined {
  try {
    checkDecapsulationKey(mlkem);
  } catch (e) {
    return `is not a valid ML-KEM-768 decapsulation key: ${e instanceof Error ? e.message : String(e)}`;
  }
  const embedded = mlkem.subarray(1152, 1152 + MLKEM768_EK_BYTES);
  if (!constantTimeEqual(embedded, publicKey.subarray(0, MLKEM768_EK_BYTES))) return "belongs to another public key";
  return undefined;
}

function keyBytes(value: Uint8Array | string, name: string, length: number): Uint8Array {
  let bytes: Uint8Array;
  if (value instanceof Uint8Array) bytes = value.slice();
  else if (typeof value === "string") {
    try {
      bytes = base64ToBytes(value.trim());
    } catch {
      throw invalidArgument(`${name} is not standard base64`);
    }
  } else throw invalidArgument(`${name} must be bytes or standard base64`);
  if (bytes.length !== length) throw invalidArgument(`${name} must be ${length} bytes, got ${bytes.length}`);
  return bytes;
}

// PKCS #8 for an X25519 private key (RFC 8410): the only private-key import besides JWK that every WebCrypto
// with X25519 accepts, and unlike JWK it needs no public half.
const PKCS8_X25519_PREFIX = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);
/** The X25519 base point (u = 9): X25519(k, 9) is k's public key. */
const BASE_POINT = new Uint8Array(X25519_BYTES);
BASE_POINT[0] = 9;

async function importX25519(raw: Uint8Array, publicKey: Uint8Array): Promise<CryptoKey> {
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey("pkcs8", concat(PKCS8_X25519_PREFIX, raw) as Uint8Array<ArrayBuffer>, { name: "X25519" }, false, ["deriveBits"]);
  } catch (e) {
    throw invalidArgument(`secretKey's X25519 part cannot be imported: ${e instanceof Error ? e.message : String(e)}`);
  }
  // A private key from another pair would only fail at the handshake (a confirmation mismatch); catch it here.
  const derived = await createWebCryptoPrimitives().x25519Derive(key, BASE_POINT).catch(() => undefined);
  if (derived === undefined || !constantTimeEqual(derived, publicKey)) {
    throw invalidArgument("secretKey's X25519 private key does not belong to publicKey's X25519 public key");
  }
  return key;
}
