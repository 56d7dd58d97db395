import { Code, ConnectError } from "@connectrpc/connect";
import { decodeJwt } from "jose";
import { DEFAULT_PQ_ALGORITHM, isHybrid, parsePqAlgorithm } from "../protocol/pq/algorithms.js";
import { bytesToBase64 } from "./base64.js";
import { embeddedKeyProblem, type VollyPqKeyPair } from "./pq-key-pair.js";
import { invalidArgument } from "./client-errors.js";

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
  if (typeof pair !== "object" || pair === null) throw invalidArgument("tokenKeyPair must be a key pair object");
  const { algorithm: algorithmField, publicKey, secretKey } = pair as Record<string, unknown>;
  const algorithm = parsePqAlgorithm(algorithmField);
  if (algorithm === undefined) throw invalidArgument(`tokenKeyPair.algorithm must be ML-KEM-768 or X25519MLKEM768, not ${JSON.stringify(algorithmField)}`);
  const tokenAlgorithm = claims.pqAlgorithm ?? DEFAULT_PQ_ALGORITHM;
  if (tokenAlgorithm !== algorithm) throw invalidArgument(`tokenKeyPair is an ${algorithm} pair but the token's pqAlgorithm is ${JSON.stringify(tokenAlgorithm)}`);
  if (!(publicKey instanceof Uint8Array)) throw invalidArgument(`tokenKeyPair.publicKey must be bytes; ${IMPORT_HINT}`);
  if (bytesToBase64(publicKey) !== claimed) throw invalidArgument("tokenKeyPair is not the key pair of the token's pqPublicKey");
  if (secretKey instanceof Uint8Array || typeof secretKey === "string") throw invalidArgument(`tokenKeyPair.secretKey is raw key material; ${IMPORT_HINT}`);
  if (typeof secretKey !== "object" || secretKey === null) throw invalidArgument(`tokenKeyPair.secretKey is missing; ${IMPORT_HINT}`);
  const { algorithm: secretAlgorithm, mlkem, x25519 } = secretKey as Record<string, unknown>;
  if (secretAlgorithm !== algorithm || !(mlkem instanceof Uint8Array)) {
    throw invalidArgument(`tokenKeyPair.secretKey is not an ${algorithm} secret key from generatePqKeyPair() or importPqKeyPair()`);
  }
  const problem = embeddedKeyProblem(mlkem, publicKey);
  if (problem !== undefined) throw invalidArgument(`tokenKeyPair.secretKey ${problem}`);
  if (isHybrid(algorithm) && !isX25519PrivateKey(x25519)) {
    throw invalidArgument(`tokenKeyPair.secretKey lacks its X25519 private key (a WebCrypto CryptoKey); ${IMPORT_HINT}`);
  }
  const checked: VollyPqKeyPair = {
    algorithm,
    publicKey,
    secretKey: isHybrid(algorithm) ? { algorithm, mlkem, x25519: x25519 as CryptoKey } : { algorithm, mlkem },
    publicKeyBase64: claimed,
  };
  return checked;
}

// The SDK's X25519 runs on WebCrypto, so only a CryptoKey for X25519 derivation can be used.
function isX25519PrivateKey(key: unknown): boolean {
  if (typeof CryptoKey === "undefined" || !(key instanceof CryptoKey)) return false;
  return key.type === "private" && key.algorithm.name === "X25519" && key.usages.includes("deriveBits");
}

/**
 * Whether `token` binds a post-quantum key (carries `pqPublicKey`), so its handshake must be way (a). The
 * server's `refresh_token`s bind none: a resume with one uses an ephemeral key, even with `tokenKeyPair`.
 */
export function tokenBindsPqKey(token: string): boolean {
  try {
    const key = decodeJwt(token).pqPublicKey;
    return typeof key === "string" && key !== "";
  } catch {
    return false;
  }
}
