import { Code, ConnectError } from "@connectrpc/connect";
import { DEFAULT_PQ_ALGORITHM, MLKEM768_EK_BYTES, isHybrid, parsePqAlgorithm } from "../protocol/pq/algorithms.js";
import { constantTimeEqual } from "../protocol/pq/bytes.js";
import { checkDecapsulationKey } from "../protocol/pq/kem.js";
import { bytesToBase64 } from "./base64.js";
import type { VollyPqKeyPair } from "./pq-key-pair.js";

/**
 * The `tokenKeyPair` option checked against the token at construction. A pair that cannot work (raw bytes where
 * the opaque secret key belongs, another algorithm, halves of different pairs) is refused here: otherwise the
 * handshake would fail at `connect()` with an error that names neither the option nor the fix.
 */

/** Where `importPqKeyPair` comes in: the usual mistake is handing over stored bytes as they are. */
const IMPORT_HINT = "turn stored key bytes (such as `volly-signaling token --pq --json` output) into a key pair with importPqKeyPair()";

/**
 * The key pair for way (a) when the token binds a key (it must be that key's pair); else undefined (way (b)).
 * Throws `ConnectError`: `FailedPrecondition` without a pair, `InvalidArgument` for a pair that does not fit.
 */
export function tokenBoundKeyPair(claims: Record<string, unknown>, pair: unknown): VollyPqKeyPair | undefined {
  const claimed = claims.pqPublicKey;
  if (typeof claimed !== "string" || claimed === "") return undefined;
  if (pair === undefined) {
    throw new ConnectError("the token binds a post-quantum key (pqPublicKey): pass its key pair as `tokenKeyPair`", Code.FailedPrecondition);
  }
  if (typeof pair !== "object" || pair === null) throw invalid("tokenKeyPair must be a key pair object");
  const { algorithm: algorithmField, publicKey, secretKey } = pair as Record<string, unknown>;
  const algorithm = parsePqAlgorithm(algorithmField);
  if (algorithm === undefined) throw invalid(`tokenKeyPair.algorithm must be ML-KEM-768 or X25519MLKEM768, not ${JSON.stringify(algorithmField)}`);
  const tokenAlgorithm = claims.pqAlgorithm ?? DEFAULT_PQ_ALGORITHM;
  if (tokenAlgorithm !== algorithm) throw invalid(`tokenKeyPair is an ${algorithm} pair but the token's pqAlgorithm is ${JSON.stringify(tokenAlgorithm)}`);
  if (!(publicKey instanceof Uint8Array)) throw invalid(`tokenKeyPair.publicKey must be bytes; ${IMPORT_HINT}`);
  if (bytesToBase64(publicKey) !== claimed) throw invalid("tokenKeyPair is not the key pair of the token's pqPublicKey");
  if (secretKey instanceof Uint8Array || typeof secretKey === "string") throw invalid(`tokenKeyPair.secretKey is raw key material; ${IMPORT_HINT}`);
  if (typeof secretKey !== "object" || secretKey === null) throw invalid(`tokenKeyPair.secretKey is missing; ${IMPORT_HINT}`);
  const { algorithm: secretAlgorithm, mlkem, x25519 } = secretKey as Record<string, unknown>;
  if (secretAlgorithm !== algorithm || !(mlkem instanceof Uint8Array)) {
    throw invalid(`tokenKeyPair.secretKey is not an ${algorithm} secret key from generatePqKeyPair() or importPqKeyPair()`);
  }
  const problem = embeddedKeyProblem(mlkem, publicKey);
  if (problem !== undefined) throw invalid(`tokenKeyPair.secretKey ${problem}`);
  if (isHybrid(algorithm) && !isX25519PrivateKey(x25519)) {
    throw invalid(`tokenKeyPair.secretKey lacks its X25519 private key (a WebCrypto CryptoKey); ${IMPORT_HINT}`);
  }
  const checked: VollyPqKeyPair = {
    algorithm,
    publicKey,
    secretKey: isHybrid(algorithm) ? { algorithm, mlkem, x25519: x25519 as CryptoKey } : { algorithm, mlkem },
    publicKeyBase64: claimed,
  };
  return checked;
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

// The SDK's X25519 runs on WebCrypto, so only a CryptoKey for X25519 derivation can be used.
function isX25519PrivateKey(key: unknown): boolean {
  if (typeof CryptoKey === "undefined" || !(key instanceof CryptoKey)) return false;
  return key.type === "private" && key.algorithm.name === "X25519" && key.usages.includes("deriveBits");
}

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}
