import { createMlKem768, sha3_256 } from "mlkem";
import type { MlKemInterface } from "mlkem";
import {
  MLKEM768_CT_BYTES,
  MLKEM768_DK_BYTES,
  MLKEM768_EK_BYTES,
  X25519_BYTES,
  ciphertextLength,
  isHybrid,
  publicKeyLength,
} from "./algorithms.js";
import type { PqAlgorithm } from "./algorithms.js";
import { concat, constantTimeEqual, zeroize } from "./bytes.js";
import { PqError } from "./pq-error.js";
import { checkX25519Share } from "./x25519-low-order.js";
import type { PqPrimitives, X25519PrivateKey } from "./primitives.js";

/** A KEM secret key: the expanded ML-KEM-768 decapsulation key and, for the hybrid, the X25519 private key. */
export interface KemSecretKey {
  readonly algorithm: PqAlgorithm;
  /** dkPKE(1152) ‖ ek(1184) ‖ H(ek)(32) ‖ z(32): 2400 bytes. Zeroize it when done. */
  readonly mlkem: Uint8Array;
  /** Present exactly for `X25519MLKEM768`. */
  readonly x25519?: X25519PrivateKey;
}

/** A KEM key pair; `publicKey` is the wire `client_public_key` (1184 bytes, or 1216 for the hybrid). */
export interface KemKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: KemSecretKey;
}

/** The result of encapsulating: the wire `kem_ciphertext` and the combined shared secret `ss`. */
export interface KemEncapsulation {
  readonly ciphertext: Uint8Array;
  readonly sharedSecret: Uint8Array;
}

const Q = 3329;
let instance: Promise<MlKemInterface> | undefined;

/**
 * An ML-KEM-768 that a runtime can put in place of `mlkem`'s JavaScript one (the server installs a native
 * build, `src/pq/native-mlkem.ts`; browsers keep `mlkem`). The functions below run the FIPS 203 §7.2 and §7.3
 * input checks before they call it, so it is only given keys that passed them; it draws its own randomness
 * from the runtime's CSPRNG. Sizes: ek 1184, dk 2400, ct 1088, shared secret 32 bytes.
 */
export interface MlKem768Backend {
  /** Named in the server's start-up log. */
  readonly name: string;
  generateKeyPair(): [ek: Uint8Array, dk: Uint8Array];
  encapsulate(ek: Uint8Array): [ct: Uint8Array, ss: Uint8Array];
  decapsulate(ct: Uint8Array, dk: Uint8Array): Uint8Array;
}

let backend: MlKem768Backend | undefined;

/** Puts `b` in place of `mlkem` for key generation, encapsulation and decapsulation (undefined restores `mlkem`). */
export function setMlKem768Backend(b: MlKem768Backend | undefined): void {
  backend = b;
}

/** Which ML-KEM-768 the functions below use: a backend's name, or "mlkem". */
export function mlKem768BackendName(): string {
  return backend?.name ?? "mlkem";
}

/**
 * The process-wide `mlkem` ML-KEM-768 instance (created once; its operations are synchronous). Exposed for the
 * known-answer tests, which need `deriveKeyPair(d ‖ z)` and `encap(ek, m)`; protocol code uses the functions below.
 */
export function getMlKem768(): Promise<MlKemInterface> {
  instance ??= createMlKem768();
  return instance;
}

/**
 * FIPS 203 §7.2 encapsulation key check for ML-KEM-768: exact length (1184) and the modulus check
 * (every 12-bit coefficient of ByteDecode12(ek[0:1152]) is below q = 3329, i.e. ByteEncode12(ByteDecode12(ek)) = ek).
 * Throws `PqError("key_length" | "key_modulus")`.
 */
export function checkEncapsulationKey(ek: Uint8Array): void {
  if (ek.length !== MLKEM768_EK_BYTES) {
    throw new PqError("key_length", `ML-KEM-768 encapsulation key must be ${MLKEM768_EK_BYTES} bytes, got ${ek.length}`);
  }
  let bad = 0;
  for (let i = 0; i < 1152; i += 3) {
    const b0 = ek[i]!;
    const b1 = ek[i + 1]!;
    const b2 = ek[i + 2]!;
    const c0 = b0 | ((b1 & 0x0f) << 8);
    const c1 = (b1 >> 4) | (b2 << 4);
    // Accumulate instead of returning early: the key is public, but there is no reason to branch per coefficient.
    bad |= (Q - 1 - c0) | (Q - 1 - c1);
  }
  if (bad < 0) throw new PqError("key_modulus", "ML-KEM-768 encapsulation key fails the FIPS 203 modulus check");
}

/**
 * The client public key check for an algorithm: exact length (1184, or 1216 for the hybrid), the modulus check
 * on the ML-KEM part and, for the hybrid, an X25519 part that is not of small order.
 */
export function checkPublicKey(algorithm: PqAlgorithm, publicKey: Uint8Array): void {
  const expected = publicKeyLength(algorithm);
  if (publicKey.length !== expected) {
    throw new PqError("key_length", `${algorithm} public key must be ${expected} bytes, got ${publicKey.length}`);
  }
  checkEncapsulationKey(publicKey.subarray(0, MLKEM768_EK_BYTES));
  if (publicKey.length > MLKEM768_EK_BYTES) checkX25519Share(publicKey.subarray(MLKEM768_EK_BYTES));
}

/** SHA3-256 for the decapsulation key check: `mlkem`'s pure-JS one unless a runtime installs a native one. */
let hashEk: (data: Uint8Array) => Uint8Array = sha3_256;

/**
 * Replaces the SHA3-256 used by `checkDecapsulationKey` (Node installs OpenSSL's, see `useNativeKeccak`;
 * browsers keep `mlkem`'s). The function must compute exactly SHA3-256.
 */
export function setSha3_256(hash: (data: Uint8Array) => Uint8Array): void {
  hashEk = hash;
}

/**
 * FIPS 203 §7.3 decapsulation key check, which `mlkem` skips: exact length (2400) and the hash check
 * H(dk[1152:2336]) = dk[2336:2368] with H = SHA3-256 (`mlkem`'s pure-JS SHA3 by default, so this stays browser-safe; see `setSha3_256`).
 * Throws `PqError("secret_key_invalid")`.
 */
export function checkDecapsulationKey(dk: Uint8Array): void {
  if (dk.length !== MLKEM768_DK_BYTES) {
    throw new PqError("secret_key_invalid", `ML-KEM-768 decapsulation key must be ${MLKEM768_DK_BYTES} bytes, got ${dk.length}`);
  }
  const ek = dk.subarray(1152, 1152 + MLKEM768_EK_BYTES);
  const h = dk.subarray(1152 + MLKEM768_EK_BYTES, 1152 + MLKEM768_EK_BYTES + 32);
  if (!constantTimeEqual(hashEk(ek), h)) {
    throw new PqError("secret_key_invalid", "ML-KEM-768 decapsulation key fails the FIPS 203 hash check");
  }
}

/** A fresh key pair for the algorithm (ML-KEM-768 from the backend or `mlkem`, X25519 from the primitives). */
export async function generateKeyPair(algorithm: PqAlgorithm, primitives: PqPrimitives): Promise<KemKeyPair> {
  const [ek, dk] = backend ? backend.generateKeyPair() : (await getMlKem768()).generateKeyPair();
  if (!isHybrid(algorithm)) return { publicKey: ek, secretKey: { algorithm, mlkem: dk } };
  const x = await primitives.x25519Generate();
  return { publicKey: concat(ek, x.publicKey), secretKey: { algorithm, mlkem: dk, x25519: x.privateKey } };
}

/**
 * Encapsulates to a client public key. ML-KEM-768: (ct, ss) = Encaps(ek). Hybrid (TLS layout): ct = mlkem_ct ‖
 * server x25519 public key, ss = mlkem_ss ‖ x25519_ss. Throws `PqError` for a malformed key or an all-zero X25519
 * secret.
 */
export async function encapsulate(
  algorithm: PqAlgorithm,
  publicKey: Uint8Array,
  primitives: PqPrimitives,
): Promise<KemEncapsulation> {
  const expected = publicKeyLength(algorithm);
  if (publicKey.length !== expected) {
    throw new PqError("key_length", `${algorithm} public key must be ${expected} bytes, got ${publicKey.length}`);
  }
  let ct: Uint8Array;
  let ss: Uint8Array;
  if (backend) {
    const ek = publicKey.subarray(0, MLKEM768_EK_BYTES);
    checkEncapsulationKey(ek);
    [ct, ss] = backend.encapsulate(ek);
  } else {
    [ct, ss] = await encapsulateWithMlKem(publicKey, primitives);
  }
  if (!isHybrid(algorithm)) return { ciphertext: ct, sharedSecret: ss };
  const eph = await primitives.x25519Generate();
  let ssX: Uint8Array;
  try {
    ssX = await primitives.x25519Derive(eph.privateKey, publicKey.subarray(MLKEM768_EK_BYTES));
  } catch (e) {
    zeroize(ss);
    throw e;
  }
  const result = { ciphertext: concat(ct, eph.publicKey), sharedSecret: concat(ss, ssX) };
  zeroize(ss, ssX);
  return result;
}

/** `mlkem`'s encapsulation, for runtimes without a backend. */
async function encapsulateWithMlKem(publicKey: Uint8Array, primitives: PqPrimitives): Promise<[Uint8Array, Uint8Array]> {
  const kem = await getMlKem768();
  // FIPS 203 §6.2: m is 32 random bytes. Drawn through the primitives (the server pools its CSPRNG
  // output) rather than by `mlkem`'s own getRandomValues call; wiped once used.
  const m = primitives.randomBytes(32);
  try {
    // `mlkem`'s encap runs the FIPS 203 §7.2 modulus check itself (ByteEncode12(ByteDecode12(ek)) = ek,
    // before anything else) and throws when it fails: running `checkEncapsulationKey` here as well would
    // do that work twice per handshake. The known-answer and invalid-key tests cover both paths.
    return kem.encap(publicKey.subarray(0, MLKEM768_EK_BYTES), m);
  } catch {
    // The length is right, so only the modulus check can make it throw.
    throw new PqError("key_modulus", "ML-KEM-768 encapsulation key fails the FIPS 203 modulus check");
  } finally {
    zeroize(m);
  }
}

/**
 * Decapsulates a server share with the secret key. Runs the FIPS 203 §7.3 checks (ciphertext length,
 * decapsulation key length and hash). A tampered ciphertext gives a different secret without an error
 * (implicit rejection); key confirmation catches it. Throws `PqError` for malformed inputs or an all-zero X25519
 * secret.
 */
export async function decapsulate(
  algorithm: PqAlgorithm,
  ciphertext: Uint8Array,
  secretKey: KemSecretKey,
  primitives: PqPrimitives,
): Promise<Uint8Array> {
  if (secretKey.algorithm !== algorithm) throw new PqError("secret_key_invalid", "secret key is for another algorithm");
  const expected = ciphertextLength(algorithm);
  if (ciphertext.length !== expected) {
    throw new PqError("ciphertext_length", `${algorithm} ciphertext must be ${expected} bytes, got ${ciphertext.length}`);
  }
  checkDecapsulationKey(secretKey.mlkem);
  let ss: Uint8Array;
  try {
    const ct = ciphertext.subarray(0, MLKEM768_CT_BYTES);
    ss = backend ? backend.decapsulate(ct, secretKey.mlkem) : (await getMlKem768()).decap(ct, secretKey.mlkem);
  } catch {
    // Lengths were checked; mlkem re-encrypts with the embedded ek, which throws if that ek is not reduced
    // (a backend need not: FIPS 203 does not ask for that check, and it ends in implicit rejection anyway).
    throw new PqError("secret_key_invalid", "ML-KEM-768 decapsulation key embeds an invalid encapsulation key");
  }
  if (!isHybrid(algorithm)) return ss;
  if (secretKey.x25519 === undefined) {
    zeroize(ss);
    throw new PqError("secret_key_invalid", "hybrid secret key lacks its X25519 part");
  }
  let ssX: Uint8Array;
  try {
    ssX = await primitives.x25519Derive(secretKey.x25519, ciphertext.subarray(MLKEM768_CT_BYTES, MLKEM768_CT_BYTES + X25519_BYTES));
  } catch (e) {
    zeroize(ss);
    throw e;
  }
  const out = concat(ss, ssX);
  zeroize(ss, ssX);
  return out;
}
