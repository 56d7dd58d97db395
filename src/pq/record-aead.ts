import { createCipheriv, createDecipheriv } from "node:crypto";
import { loadCryptoAddon } from "./crypto-addon.js";

/**
 * AES-256-GCM over caller-owned bytes, in place: `seal` takes `view` = plaintext ‖ 16 spare bytes and leaves
 * ciphertext ‖ tag there; `open` takes ciphertext ‖ tag and leaves the plaintext in front (false, and zeroed
 * bytes, when the tag does not verify). Working in place lets the record layer frame a record with a single
 * allocation and decrypt a received frame without copying it.
 */
export interface RecordAead {
  readonly backend: "native" | "node:crypto";
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, view: Uint8Array): void;
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, view: Uint8Array): boolean;
  /** Wipes whatever the backend keeps of `key` between calls (true if it kept something); call before zeroing a key. */
  forget(key: Uint8Array): boolean;
}

const TAG = 16;

/** The same argument contract as the native binding (which checks it in C). */
function checkArgs(op: string, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, view: Uint8Array): void {
  const bytes = (x: unknown) => x instanceof Uint8Array;
  if (!bytes(key) || key.length !== 32 || !bytes(nonce) || nonce.length !== 12 || !bytes(aad) || !bytes(view) || view.length < TAG) {
    throw new TypeError(`${op}(key[32], nonce[12], aad, view[>=16]) expects Uint8Arrays`);
  }
}

/**
 * node:crypto, the portable fallback: a new Cipheriv per record (Node 20 cannot re-IV a GCM context), which
 * costs a few microseconds per call at signaling sizes.
 */
export const nodeRecordAead: RecordAead = {
  backend: "node:crypto",
  seal(key, nonce, aad, view) {
    checkArgs("seal", key, nonce, aad, view);
    const n = view.length - TAG;
    const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG });
    cipher.setAAD(aad);
    view.set(cipher.update(view.subarray(0, n)), 0);
    cipher.final(); // GCM is a stream mode: final() emits nothing but computes the tag
    view.set(cipher.getAuthTag(), n);
  },
  open(key, nonce, aad, view) {
    checkArgs("open", key, nonce, aad, view);
    const n = view.length - TAG;
    const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG });
    decipher.setAAD(aad);
    decipher.setAuthTag(view.subarray(n));
    const body = decipher.update(view.subarray(0, n));
    try {
      decipher.final();
    } catch {
      body.fill(0);
      view.fill(0);
      return false;
    }
    view.set(body, 0);
    body.fill(0);
    return true;
  },
  forget(key) {
    if (!(key instanceof Uint8Array) || key.length !== 32) throw new TypeError("forget(key[32]) expects a Uint8Array");
    // A Cipheriv lives for one call: nothing of a key outlives it here.
    return false;
  },
};

/**
 * The native binding (native/record-aead, built by `npm ci` through scripts/build-native.mjs): reusable OpenSSL
 * contexts that keep the key schedules of recently used keys, about 5× cheaper per record than node:crypto. Undefined
 * when it was not built (no compiler on the machine); the server then logs that it uses the fallback.
 */
export function loadNativeRecordAead(): RecordAead | undefined {
  const binding = loadCryptoAddon() as Pick<RecordAead, "seal" | "open" | "forget"> | undefined;
  if (binding === undefined) return undefined;
  return { backend: "native", seal: binding.seal, open: binding.open, forget: binding.forget };
}

/** The backend every record layer of this process uses: native when built, node:crypto otherwise. */
export const recordAead: RecordAead = loadNativeRecordAead() ?? nodeRecordAead;
