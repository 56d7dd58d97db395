import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes, randomInt } from "node:crypto";
import { describe, test } from "node:test";
import { loadCryptoAddon } from "../../src/pq/crypto-addon.js";
import { loadNativeSha256, nodeSha256, sha256, type Sha256 } from "../../src/pq/sha256.js";

const native = loadNativeSha256();
const notBuilt = "native/record-aead is not built on this machine (npm ci builds it with node-gyp; see its install log)";

test("the native SHA-256 is built where CI requires it, and is what the handshake and tokens use", { skip: process.env.VOLLY_REQUIRE_NATIVE === "1" ? false : "VOLLY_REQUIRE_NATIVE is not set (.ci/run sets it)" }, () => {
  assert.ok(native, "native/record-aead must be built with sha256.c: npm ci runs scripts/build-native.mjs");
  assert.equal(sha256.backend, "native");
});

for (const [name, backend] of [["native (native/record-aead/sha256.c)", native], ["node:crypto", nodeSha256]] as const) {
  describe(`SHA-256 and HMAC-SHA256: ${name}`, { skip: backend ? false : notBuilt }, () => {
    const b = backend as Sha256;

    test("agree with node:crypto's streaming Hash and Hmac at every size around the block boundaries", () => {
      // Keys of 0 to 200 bytes: a key longer than the 64-byte block is hashed first (RFC 2104), one shorter is padded.
      for (const size of [0, 1, 31, 32, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 200, 1184, 4096]) {
        const data = randomBytes(size);
        assert.deepEqual(Buffer.from(b.sha256(data)), createHash("sha256").update(data).digest(), `sha256 of ${size} bytes`);
        const key = randomBytes(Math.min(size, 200));
        assert.deepEqual(Buffer.from(b.hmacSha256(key, data)), createHmac("sha256", key).update(data).digest(), `hmac with a ${key.length}-byte key over ${size} bytes`);
      }
      for (let i = 0; i < 200; i++) {
        const key = randomBytes(randomInt(0, 150));
        const data = randomBytes(randomInt(0, 300));
        assert.deepEqual(Buffer.from(b.hmacSha256(key, data)), createHmac("sha256", key).update(data).digest());
      }
    });

    test("read a view where it lies, not its whole buffer, and give each call a result of its own", () => {
      const whole = randomBytes(100);
      const data = whole.subarray(10, 60);
      const key = new Uint8Array(whole.buffer, whole.byteOffset + 60, 32);
      const first = b.hmacSha256(key, data);
      assert.deepEqual(Buffer.from(first), createHmac("sha256", key).update(data).digest());
      assert.deepEqual(Buffer.from(b.sha256(data)), createHash("sha256").update(data).digest());
      const second = b.hmacSha256(key, data);
      assert.notEqual(first.buffer, second.buffer, "a fresh array per call: callers zeroize what they were given");
      assert.equal(first.length, 32);
    });
  });
}

test("the native binding refuses arguments that are not Uint8Arrays, or an output that is not 32 bytes", { skip: native ? false : notBuilt }, () => {
  const binding = loadCryptoAddon() as {
    sha256(data: unknown, out: unknown): void;
    hmacSha256(...args: unknown[]): void;
  };
  assert.throws(() => binding.sha256("text", new Uint8Array(32)), { name: "TypeError", code: "ERR_SHA256" });
  assert.throws(() => binding.sha256(new Uint8Array(1), new Uint8Array(31)), { name: "TypeError", code: "ERR_SHA256" });
  assert.throws(() => binding.hmacSha256(new Uint8Array(1), new Uint16Array(1), new Uint8Array(32)), { name: "TypeError", code: "ERR_SHA256" });
  assert.throws(() => binding.hmacSha256(new Uint8Array(1), new Uint8Array(1)), { name: "TypeError", code: "ERR_SHA256" });
});
