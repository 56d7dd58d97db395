import { createHmac, hash } from "node:crypto";
import { loadCryptoAddon } from "./crypto-addon.js";

/** SHA-256 and HMAC-SHA256, synchronously, into a fresh 32-byte array. */
export interface Sha256 {
  readonly backend: "native" | "node:crypto";
  sha256(data: Uint8Array): Uint8Array;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
}

function view(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** node:crypto: a Hash or Hmac object per call, 3 to 8 µs each on Node 20 (OpenSSL 3 fetches the digest every time). */
export const nodeSha256: Sha256 = {
  backend: "node:crypto",
  sha256: (data) => view(hash("sha256", data, "buffer")),
  hmacSha256: (key, data) => view(createHmac("sha256", key).update(data).digest()),
};

interface Binding {
  sha256(data: Uint8Array, out: Uint8Array): void;
  hmacSha256(key: Uint8Array, data: Uint8Array, out: Uint8Array): void;
}

/**
 * The native binding (native/record-aead/sha256.c, built with the record layer's AES-GCM): OpenSSL's SHA-256
 * called directly, about 1 µs per HMAC. Undefined when the addon was not built, or was built before it had
 * these functions.
 */
export function loadNativeSha256(): Sha256 | undefined {
  const { sha256, hmacSha256 } = (loadCryptoAddon() ?? {}) as Partial<Binding>;
  if (typeof sha256 !== "function" || typeof hmacSha256 !== "function") return undefined;
  return {
    backend: "native",
    sha256(data) {
      const out = new Uint8Array(32);
      sha256(data, out);
      return out;
    },
    hmacSha256(key, data) {
      const out = new Uint8Array(32);
      hmacSha256(key, data, out);
      return out;
    },
  };
}

/** What the handshake and token verification use: native when built, node:crypto otherwise (as records do). */
export const sha256: Sha256 = loadNativeSha256() ?? nodeSha256;
