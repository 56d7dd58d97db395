import assert from "node:assert/strict";
import { createPublicKey, diffieHellman, generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import { checkX25519Share, X25519_LOW_ORDER_POINTS } from "../../src/protocol/pq/x25519-low-order.js";

// RFC 7748's small-order u-coordinates are seven (0, 1, two of order 8, p - 1, p, p + 1): each must make a
// real X25519 fail, with the top bit clear or set.
const points = X25519_LOW_ORDER_POINTS.map((p) => Buffer.from(p));

/** Whether X25519 with `share` fails (OpenSSL refuses an all-zero result) for a fresh private key. */
function derivationFails(share: Uint8Array): boolean {
  const { privateKey } = generateKeyPairSync("x25519");
  const publicKey = createPublicKey({ key: { kty: "OKP", crv: "X25519", x: Buffer.from(share).toString("base64url") }, format: "jwk" });
  try {
    return diffieHellman({ privateKey, publicKey }).every((b) => b === 0);
  } catch {
    return true;
  }
}

// The static list must refuse exactly what a real X25519 refuses: checked here against OpenSSL, with the
// top bit (which RFC 7748 ignores) clear and set.
test("checkX25519Share refuses the points of small order, as OpenSSL's X25519 does, whatever the top bit", () => {
  assert.equal(new Set(points.map((p) => p.toString("hex"))).size, 7);
  for (const point of points) {
    for (const share of [point, Buffer.from(point.map((b, i) => (i === 31 ? b | 0x80 : b)))]) {
      assert.ok(derivationFails(share), share.toString("hex"));
      assert.throws(() => checkX25519Share(share), /small order/, share.toString("hex"));
    }
  }
});

test("checkX25519Share accepts ordinary public keys, and one byte off a low-order point", () => {
  for (let i = 0; i < 50; i++) {
    const jwk = generateKeyPairSync("x25519").publicKey.export({ format: "jwk" });
    const share = Buffer.from(String(jwk.x), "base64url");
    assert.equal(derivationFails(share), false);
    checkX25519Share(share);
  }
  const near = Buffer.from(points[2] as Buffer);
  near[0] = (near[0] as number) ^ 1;
  checkX25519Share(near);
  assert.throws(() => checkX25519Share(new Uint8Array(31)), /32 bytes/);
});
