import { errors } from "../errors.js";
import { DEFAULT_PQ_ALGORITHM, parsePqAlgorithm, publicKeyLength } from "../protocol/pq/algorithms.js";
import type { PqAlgorithm } from "../protocol/pq/algorithms.js";
import { checkPublicKey } from "../protocol/pq/kem.js";
import { toCatalogueError } from "./pq-error-map.js";

/** The Volly PQ claims as they appear in a verified JWT payload (unvalidated). */
export interface TokenPqClaimsInput {
  pqPublicKey?: unknown;
  pqAlgorithm?: unknown;
  pqKeyExpiry?: unknown;
}

/** A token-bound client key, validated; feeds `PqTokenBinding`. */
export interface TokenPqKey {
  algorithm: PqAlgorithm;
  /** ML-KEM-768: the 1184-byte ek. X25519MLKEM768: the full client share ek(1184) ‖ x25519(32) = 1216 bytes. */
  publicKey: Uint8Array;
  /** Milliseconds since the epoch, when the token says. */
  keyExpiry?: number;
}

/** pqKeyExpiry values below this are seconds (or garbage), not milliseconds: 10^12 ms is September 2001. */
const MIN_EXPIRY_MS = 1e12;
const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Validates a token's PQ claims at upgrade time (DESIGN §3, §5). Returns undefined when the token carries no
 * `pqPublicKey` (way b applies). Otherwise:
 * - `pqAlgorithm`: absent means `ML-KEM-768`, else exactly `ML-KEM-768` or `X25519MLKEM768` (`pq_algorithm_unsupported`);
 *   checked even without a key, so a typo never passes silently;
 * - `pqPublicKey`: standard padded base64 only (no base64url, whitespace or non-canonical padding bits), exact
 *   length for the algorithm (1184, or 1216 for the hybrid: the token binds the whole client share because the
 *   server encapsulates to it at once), FIPS 203 modulus check (`pq_key_invalid`);
 * - `pqKeyExpiry` (optional): an integer number of milliseconds since the epoch, at least 10^12
 *   (`token_invalid`), not passed at `now` (`pq_key_expired`).
 */
export function validateTokenPqClaims(claims: TokenPqClaimsInput, now: number): TokenPqKey | undefined {
  let algorithm: PqAlgorithm = DEFAULT_PQ_ALGORITHM;
  if (claims.pqAlgorithm !== undefined) {
    const parsed = parsePqAlgorithm(claims.pqAlgorithm);
    if (parsed === undefined) {
      throw errors.pqAlgorithmUnsupported(typeof claims.pqAlgorithm === "string" ? claims.pqAlgorithm : String(claims.pqAlgorithm));
    }
    algorithm = parsed;
  }
  if (claims.pqPublicKey === undefined) return undefined;

  let keyExpiry: number | undefined;
  if (claims.pqKeyExpiry !== undefined) {
    const v = claims.pqKeyExpiry;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < MIN_EXPIRY_MS) {
      throw errors.tokenInvalid("pqKeyExpiry must be milliseconds since the epoch");
    }
    if (v <= now) throw errors.pqKeyExpired();
    keyExpiry = v;
  }

  const publicKey = decodeStandardBase64(claims.pqPublicKey, publicKeyLength(algorithm));
  try {
    checkPublicKey(algorithm, publicKey);
  } catch (e) {
    throw toCatalogueError(e, "handshake");
  }
  return keyExpiry === undefined ? { algorithm, publicKey } : { algorithm, publicKey, keyExpiry };
}

/**
 * What a key of the right size in the wrong encoding most likely is, for the refusal: the encodings a backend
 * reaches for by mistake. Only the length is looked at, so a long value costs nothing.
 */
function lookalike(value: string, expectedLength: number): string {
  if (value.length === Math.ceil((4 * expectedLength) / 3)) return ": this looks like unpadded base64 or base64url; use standard base64 with + and / and = padding";
  if (value.length === 2 * expectedLength) return ": this looks like hex; use standard base64";
  return "";
}

/** Strict standard base64: the exact alphabet and padding, canonical trailing bits, the expected decoded length. */
function decodeStandardBase64(value: unknown, expectedLength: number): Uint8Array {
  if (typeof value !== "string") throw errors.pqKeyInvalid("pqPublicKey must be a base64 string");
  // Bound the work before the regex: a valid key is at most 1624 characters.
  const length = 4 * Math.ceil(expectedLength / 3);
  if (value.length !== length) {
    throw errors.pqKeyInvalid(`pqPublicKey must encode exactly ${expectedLength} bytes as standard padded base64 (${length} characters, not ${value.length})${lookalike(value, expectedLength)}`);
  }
  if (!STANDARD_BASE64.test(value)) throw errors.pqKeyInvalid("pqPublicKey is not standard base64");
  const buf = Buffer.from(value, "base64");
  if (buf.length !== expectedLength) throw errors.pqKeyInvalid(`pqPublicKey must encode exactly ${expectedLength} bytes`);
  // Node ignores non-zero padding bits; a re-encode that differs means a non-canonical (malleable) encoding.
  if (buf.toString("base64") !== value) throw errors.pqKeyInvalid("pqPublicKey is not canonical base64");
  // Copy out of Buffer's shared allocation pool so the key owns its memory.
  return new Uint8Array(buf);
}
