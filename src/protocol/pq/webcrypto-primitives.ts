import { isAllZero, zeroize } from "./bytes.js";
import { PqError } from "./pq-error.js";
import type { PqPrimitives, X25519KeyPair, X25519PrivateKey } from "./primitives.js";

/**
 * `PqPrimitives` over WebCrypto (`globalThis.crypto.subtle`): browsers (secure contexts only) and Node ≥ 20.
 * X25519 is the Secure Curves algorithm `{name: "X25519"}`: shipped by default in Blink/Chromium, Gecko
 * (Firefox 129+) and WebKit (Safari 17+), and present in Node 20's `crypto.subtle` (generateKey, raw
 * import/export, deriveBits: verified on v20.20.2). HKDF-Extract and -Expand are built on HMAC (RFC 5869)
 * because WebCrypto's HKDF only offers the combined extract-and-expand.
 */
export function createWebCryptoPrimitives(crypto: Crypto = globalThis.crypto): PqPrimitives {
  const subtle = crypto.subtle;

  function hmacKey(key: Uint8Array): Promise<CryptoKey> {
    // WebCrypto refuses zero-length HMAC keys; HMAC pads keys with zeros to the block size, so an empty key
    // and 32 zero bytes are the same key (RFC 5869: an absent salt is HashLen zeros).
    const raw = key.length === 0 ? new Uint8Array(32) : key;
    return subtle.importKey("raw", view(raw), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  }

  async function hmac(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(await subtle.sign("HMAC", await hmacKey(key), view(data)));
  }

  async function aesKey(key: Uint8Array, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
    if (key.length !== 32) throw new RangeError("AES-256-GCM key must be 32 bytes");
    return subtle.importKey("raw", view(key), { name: "AES-GCM" }, false, [usage]);
  }

  return {
    async sha256(data) {
      return new Uint8Array(await subtle.digest("SHA-256", view(data)));
    },

    hkdfExtract(salt, ikm) {
      return hmac(salt, ikm);
    },

    async hkdfExpand(prk, info, length) {
      if (!Number.isInteger(length) || length < 0 || length > 255 * 32) throw new RangeError("HKDF length");
      const out = new Uint8Array(length);
      const key = await hmacKey(prk);
      const block = new Uint8Array(32 + info.length + 1);
      let previous: Uint8Array = new Uint8Array(0);
      for (let i = 1, offset = 0; offset < length; i++) {
        // T(i) = HMAC(prk, T(i-1) ‖ info ‖ i)
        const input = block.subarray(0, previous.length + info.length + 1);
        input.set(previous, 0);
        input.set(info, previous.length);
        input[previous.length + info.length] = i;
        const t = new Uint8Array(await subtle.sign("HMAC", key, view(input)));
        out.set(t.subarray(0, Math.min(32, length - offset)), offset);
        offset += 32;
        zeroize(previous);
        previous = t;
      }
      zeroize(previous, block);
      return out;
    },

    hmacSha256: hmac,

    async aesGcmSeal(key, nonce, aad, plaintext) {
      const k = await aesKey(key, "encrypt");
      const params: AesGcmParams = { name: "AES-GCM", iv: view(nonce), additionalData: view(aad), tagLength: 128 };
      return new Uint8Array(await subtle.encrypt(params, k, view(plaintext)));
    },

    async aesGcmOpen(key, nonce, aad, ciphertextWithTag) {
      if (ciphertextWithTag.length < 16) throw new PqError("aead_failed", "ciphertext shorter than its tag");
      const k = await aesKey(key, "decrypt");
      const params: AesGcmParams = { name: "AES-GCM", iv: view(nonce), additionalData: view(aad), tagLength: 128 };
      try {
        return new Uint8Array(await subtle.decrypt(params, k, view(ciphertextWithTag)));
      } catch {
        throw new PqError("aead_failed", "AES-GCM authentication failed");
      }
    },

    async x25519Generate(): Promise<X25519KeyPair> {
      // The private key is non-extractable; WebCrypto always lets the public half be exported.
      const pair = (await subtle.generateKey({ name: "X25519" }, false, ["deriveBits"])) as CryptoKeyPair;
      const publicKey = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
      return { publicKey, privateKey: pair.privateKey };
    },

    async x25519Derive(privateKey: X25519PrivateKey, peerPublicKey: Uint8Array): Promise<Uint8Array> {
      if (!isCryptoKey(privateKey)) throw new TypeError("X25519 private key is not a WebCrypto CryptoKey");
      if (peerPublicKey.length !== 32) throw new PqError("x25519_invalid", "X25519 public key must be 32 bytes");
      let peer: CryptoKey;
      try {
        peer = await subtle.importKey("raw", view(peerPublicKey), { name: "X25519" }, true, []);
      } catch {
        throw new PqError("x25519_invalid", "X25519 public key cannot be imported");
      }
      let secret: Uint8Array;
      try {
        secret = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: peer }, privateKey, 256));
      } catch {
        // The Secure Curves spec makes deriveBits fail with OperationError exactly when the result is all zeros.
        throw new PqError("x25519_zero", "X25519 share yields an all-zero secret");
      }
      if (isAllZero(secret)) throw new PqError("x25519_zero", "X25519 share yields an all-zero secret");
      return secret;
    },

    randomBytes(n) {
      const out = new Uint8Array(n);
      // getRandomValues fills at most 65536 bytes per call.
      for (let offset = 0; offset < n; offset += 65536) crypto.getRandomValues(out.subarray(offset, offset + 65536));
      return out;
    },
  };
}

function isCryptoKey(key: X25519PrivateKey): key is CryptoKey {
  return typeof CryptoKey !== "undefined" && key instanceof CryptoKey;
}

// TypeScript's DOM typings want ArrayBuffer-backed views; our arrays may sit on a SharedArrayBuffer-typed buffer
// in principle, so copy in that (never expected) case instead of casting it away.
function view(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}
