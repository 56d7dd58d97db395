import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { setMlKem768Backend, type MlKem768Backend } from "../protocol/pq/kem.js";
import { bytes } from "./node-primitives.js";

/** The part of `pqclean`'s native binding this module uses (its classic, synchronous `KEM` API). */
interface PqcleanKem {
  keypair(): { publicKey: Buffer; privateKey: Buffer };
  generateKey(publicKey: Uint8Array): { key: Buffer; encryptedKey: Buffer };
  decryptKey(privateKey: Uint8Array, encryptedKey: Uint8Array): Buffer;
}
interface PqcleanBinding {
  KEM: new (algorithm: string) => PqcleanKem;
}

const EK = 1184;
const DK = 2400;
const CT = 1088;
const SS = 32;

function expectLength(what: string, b: Uint8Array, n: number): void {
  if (!(b instanceof Uint8Array) || b.length !== n) throw new TypeError(`ML-KEM-768 ${what} must be a Uint8Array of ${n} bytes`);
}

/**
 * Loads `pqclean`'s native addon (PQClean's portable C ML-KEM-768, compiled at `npm ci`), or returns why not.
 * Only the native build: where it did not compile, `pqclean` itself would fall back to WebAssembly, a path
 * this server does not test, so it keeps `mlkem` instead.
 */
export function loadNativeMlKem(): MlKem768Backend | string {
  let kem: PqcleanKem;
  try {
    const require = createRequire(import.meta.url);
    const addon = join(dirname(require.resolve("pqclean/package.json")), "build", "Release", "node_pqclean.node");
    if (!existsSync(addon)) return "pqclean's native addon was not built at install";
    // The constructor throws for an algorithm the build does not have: also a reason to keep mlkem.
    kem = new (require(addon) as PqcleanBinding).KEM("ml-kem-768");
  } catch (e) {
    return `pqclean could not be loaded (${e instanceof Error ? e.message : String(e)})`;
  }
  return {
    name: "pqclean (native)",
    generateKeyPair() {
      const { publicKey, privateKey } = kem.keypair();
      return [bytes(publicKey), bytes(privateKey)];
    },
    encapsulate(ek) {
      expectLength("encapsulation key", ek, EK);
      const { key, encryptedKey } = kem.generateKey(ek);
      return [bytes(encryptedKey), bytes(key)];
    },
    decapsulate(ct, dk) {
      expectLength("ciphertext", ct, CT);
      expectLength("decapsulation key", dk, DK);
      const ss = kem.decryptKey(dk, ct);
      if (ss.length !== SS) throw new Error(`pqclean returned a ${ss.length}-byte shared secret`);
      return bytes(ss);
    },
  };
}

let outcome: { backend: string; reason?: string } | undefined;

/**
 * Puts PQClean's native ML-KEM-768 under `kem.ts` (key generation, encapsulation, decapsulation), where it
 * loads; the server's handshake then encapsulates in C, about 2.7 times faster than `mlkem`'s JavaScript on
 * OpenSSL's SHA-3 (101–105 against 276–308 µs on a 2-core Xeon guest). Returns the backend's name, or why it kept `mlkem`. Idempotent. Server and Node tools only:
 * browsers keep `mlkem`.
 */
export function useNativeMlKem(): { backend: string; reason?: string } {
  if (outcome === undefined) {
    const loaded = loadNativeMlKem();
    if (typeof loaded === "string") outcome = { backend: "mlkem", reason: loaded };
    else {
      setMlKem768Backend(loaded);
      outcome = { backend: loaded.name };
    }
  }
  return outcome;
}
