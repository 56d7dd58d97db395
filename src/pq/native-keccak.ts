import { createHash, hash } from "node:crypto";
import { getMlKem768, setSha3_256 } from "../protocol/pq/kem.js";
import { bytes } from "./node-primitives.js";

/**
 * The hash functions `mlkem` calls (FIPS 202: SHA3-256, SHA3-512, SHAKE128, SHAKE256), as `mlkem` 2.7.0
 * names them on its instances. They are instance methods over pure-JS Keccak; profiling showed Keccak at
 * about 70% of an encapsulation (the SHAKE128 matrix sampling alone half of it).
 */
interface MlKemHashes {
  _g(a: Uint8Array, b?: Uint8Array): [Uint8Array, Uint8Array];
  _h(msg: Uint8Array): Uint8Array;
  _kdf(a: Uint8Array, b?: Uint8Array): Uint8Array;
  _xof(seed: Uint8Array): Uint8Array;
  _prf1(sigma: Uint8Array, nonce: number): Uint8Array;
  _prf2(sigma: Uint8Array, nonce: number): Uint8Array;
  _bufXof: Uint8Array;
  _bufPrf1: Uint8Array;
  _bufPrf2: Uint8Array;
  _bufKdf: Uint8Array;
}

let installed = false;

/**
 * Gives the process-wide `mlkem` instance OpenSSL's SHA-3 (node:crypto) instead of its pure-JS Keccak.
 * The ML-KEM algorithm stays `mlkem`'s; only the FIPS 202 primitives underneath change, and the
 * known-answer suites (ACVP, Wycheproof, the accumulated test) run against the accelerated instance too
 * (test/pq/ml-kem-vectors.test.ts). Server-only: browsers keep the JS Keccak. Idempotent.
 *
 * The overrides return fresh buffers of the same sizes the originals fill; callers copy what they keep
 * (`k.slice()`), as with the originals. `mlkem` is pinned to 2.7.0; the check below fails loudly if a
 * different version renamed these methods.
 */
export async function useNativeKeccak(): Promise<void> {
  if (installed) return;
  const kem = (await getMlKem768()) as unknown as MlKemHashes;
  for (const name of ["_g", "_h", "_kdf", "_xof", "_prf1", "_prf2"] as const) {
    if (typeof kem[name] !== "function") throw new Error(`mlkem has no ${name}: the native SHA-3 hook does not fit this version`);
  }
  const xofLength = kem._bufXof.length;
  const prf1Length = kem._bufPrf1.length;
  const prf2Length = kem._bufPrf2.length;
  const kdfLength = kem._bufKdf.length;
  const nonce = new Uint8Array(1);
  // Plain Uint8Array views (`bytes`): callers `slice()` what they keep, and must get Uint8Arrays as from the originals.
  // One-shot `hash()` where the input is one array: it skips the Hash object's JavaScript set-up.
  const g = new Uint8Array(64);
  kem._g = (a, b) => {
    let out: Uint8Array;
    if (b === undefined) out = bytes(hash("sha3-512", a, "buffer"));
    else if (a.length + b.length === 64) {
      g.set(a, 0);
      g.set(b, a.length);
      out = bytes(hash("sha3-512", g, "buffer"));
      // Holds m or the seed: not left behind.
      g.fill(0);
    } else out = bytes(createHash("sha3-512").update(a).update(b).digest());
    return [out.subarray(0, 32), out.subarray(32, 64)];
  };
  kem._h = (msg) => bytes(hash("sha3-256", msg, "buffer"));
  kem._kdf = (a, b) => {
    const h = createHash("shake256", { outputLength: kdfLength }).update(a);
    if (b !== undefined) h.update(b);
    return bytes(h.digest());
  };
  kem._xof = (seed) => bytes(createHash("shake128", { outputLength: xofLength }).update(seed).digest());
  kem._prf1 = (sigma, n) => {
    nonce[0] = n;
    return bytes(createHash("shake256", { outputLength: prf1Length }).update(sigma).update(nonce).digest());
  };
  kem._prf2 = (sigma, n) => {
    nonce[0] = n;
    return bytes(createHash("shake256", { outputLength: prf2Length }).update(sigma).update(nonce).digest());
  };
  // The client's decapsulation key check (FIPS 203 §7.3) hashes 1184 bytes: natively too.
  setSha3_256((data) => bytes(hash("sha3-256", data, "buffer")));
  installed = true;
}

