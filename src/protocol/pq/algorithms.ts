/** The post-quantum algorithms of the signaling channel (DESIGN §5), by their exact wire names. */
export type PqAlgorithm = "ML-KEM-768" | "X25519MLKEM768";

/** Every supported algorithm, in the order the server lists them. */
export const PQ_ALGORITHMS: readonly PqAlgorithm[] = ["ML-KEM-768", "X25519MLKEM768"];

/** The algorithm a token without `pqAlgorithm` means. */
export const DEFAULT_PQ_ALGORITHM: PqAlgorithm = "ML-KEM-768";

/** ML-KEM-768 encapsulation key (FIPS 203 Table 3). */
export const MLKEM768_EK_BYTES = 1184;
/** ML-KEM-768 decapsulation key, expanded form: dkPKE(1152) ‖ ek(1184) ‖ H(ek)(32) ‖ z(32). */
export const MLKEM768_DK_BYTES = 2400;
/** ML-KEM-768 ciphertext. */
export const MLKEM768_CT_BYTES = 1088;
/** Shared secret of one KEM (ML-KEM or X25519). */
export const SHARED_SECRET_BYTES = 32;
/** Raw X25519 public key and secret. */
export const X25519_BYTES = 32;
/** Hybrid client share: ek(1184) ‖ x25519(32). */
export const HYBRID_CLIENT_SHARE_BYTES = MLKEM768_EK_BYTES + X25519_BYTES;
/** Hybrid server share: ct(1088) ‖ x25519(32). */
export const HYBRID_SERVER_SHARE_BYTES = MLKEM768_CT_BYTES + X25519_BYTES;
/** client_nonce (when present) and server_nonce. */
export const NONCE_BYTES = 32;
/** Random bytes behind a session id (rendered as 32 lowercase hex digits). */
export const SESSION_ID_BYTES = 16;
/** Traffic, confirm, chain and exporter keys. */
export const KEY_BYTES = 32;
/** AES-GCM tag appended to every record ciphertext. */
export const GCM_TAG_BYTES = 16;

/**
 * Exact, case-sensitive allow-list parse: returns the algorithm for `"ML-KEM-768"` or `"X25519MLKEM768"`,
 * `undefined` for anything else (other parameter sets, case variants, surrounding spaces, empty).
 */
export function parsePqAlgorithm(value: unknown): PqAlgorithm | undefined {
  // The literals, not `value`: a session keeps its algorithm, and a decoded string would be a copy per session.
  if (value === "ML-KEM-768") return "ML-KEM-768";
  return value === "X25519MLKEM768" ? "X25519MLKEM768" : undefined;
}

/** True for the X25519 + ML-KEM-768 hybrid. */
export function isHybrid(algorithm: PqAlgorithm): boolean {
  return algorithm === "X25519MLKEM768";
}

/** Length of the client's public key share (`client_public_key`) for the algorithm: 1184 or 1216. */
export function publicKeyLength(algorithm: PqAlgorithm): number {
  return isHybrid(algorithm) ? HYBRID_CLIENT_SHARE_BYTES : MLKEM768_EK_BYTES;
}

/** Length of the server's share (`kem_ciphertext`) for the algorithm: 1088 or 1120. */
export function ciphertextLength(algorithm: PqAlgorithm): number {
  return isHybrid(algorithm) ? HYBRID_SERVER_SHARE_BYTES : MLKEM768_CT_BYTES;
}

const SESSION_ID = /^[0-9a-f]{32}$/;

/** True for a well-formed session id: exactly 32 lowercase hex digits. */
export function isSessionId(value: unknown): value is string {
  return typeof value === "string" && SESSION_ID.test(value);
}
