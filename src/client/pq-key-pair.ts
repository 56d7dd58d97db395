import { DEFAULT_PQ_ALGORITHM, parsePqAlgorithm, type PqAlgorithm } from "../protocol/pq/algorithms.js";
import { generateKeyPair, type KemKeyPair } from "../protocol/pq/kem.js";
import { createWebCryptoPrimitives } from "../protocol/pq/webcrypto-primitives.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { bytesToBase64 } from "./base64.js";

/**
 * A post-quantum key pair for a token (`pqPublicKey`, way (a) of the handshake): put `publicKey` (or
 * `publicKeyBase64`) in the token and give the whole pair to `VollySignalingClient` as `tokenKeyPair`.
 * `secretKey` never leaves the client.
 */
export interface VollyPqKeyPair extends KemKeyPair {
  readonly algorithm: PqAlgorithm;
  /** The encapsulation key as standard base64, the token claim's encoding. */
  readonly publicKeyBase64: string;
}

/**
 * A fresh key pair for `algorithm` ("ML-KEM-768", the default, or the hybrid "X25519MLKEM768"): ML-KEM-768 from
 * `mlkem`, X25519 from WebCrypto. Throws `ConnectError` (`InvalidArgument`) for another algorithm name.
 */
export async function generatePqKeyPair(algorithm: PqAlgorithm = DEFAULT_PQ_ALGORITHM): Promise<VollyPqKeyPair> {
  const parsed = parsePqAlgorithm(algorithm);
  if (parsed === undefined) {
    throw new ConnectError(`unsupported algorithm ${JSON.stringify(algorithm)}; use ML-KEM-768 or X25519MLKEM768`, Code.InvalidArgument);
  }
  const pair = await generateKeyPair(parsed, createWebCryptoPrimitives());
  return { algorithm: parsed, publicKey: pair.publicKey, secretKey: pair.secretKey, publicKeyBase64: bytesToBase64(pair.publicKey) };
}
