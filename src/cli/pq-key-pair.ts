import { KeyObject } from "node:crypto";
import { concat } from "../protocol/pq/bytes.js";
import type { PqAlgorithm } from "../protocol/pq/algorithms.js";
import { generateKeyPair } from "../protocol/pq/kem.js";
import { nodePrimitives } from "../pq/node-primitives.js";

/** A client key pair as raw bytes, for printing: the client keeps `secretKey`, the token carries `publicKey`. */
export interface RawPqKeyPair {
  readonly algorithm: PqAlgorithm;
  /** ML-KEM-768: ek (1184 bytes). X25519MLKEM768: ek ‖ X25519 public key (1216 bytes). */
  readonly publicKey: Uint8Array;
  /**
   * ML-KEM-768: the expanded FIPS 203 decapsulation key (2400 bytes). X25519MLKEM768: that key followed by the
   * raw X25519 private key (2400 + 32 = 2432 bytes).
   */
  readonly secretKey: Uint8Array;
}

/** Generates a fresh client key pair with the server's own KEM code and exports both halves as bytes. */
export async function generateRawPqKeyPair(algorithm: PqAlgorithm): Promise<RawPqKeyPair> {
  // node:crypto primitives (not WebCrypto) so the hybrid's X25519 private key can be exported.
  const { publicKey, secretKey } = await generateKeyPair(algorithm, nodePrimitives);
  if (secretKey.x25519 === undefined) return { algorithm, publicKey, secretKey: secretKey.mlkem };
  if (!(secretKey.x25519 instanceof KeyObject)) throw new Error("X25519 private key is not exportable");
  const d = secretKey.x25519.export({ format: "jwk" }).d;
  if (typeof d !== "string") throw new Error("X25519 private key export without d");
  return { algorithm, publicKey, secretKey: concat(secretKey.mlkem, new Uint8Array(Buffer.from(d, "base64url"))) };
}
