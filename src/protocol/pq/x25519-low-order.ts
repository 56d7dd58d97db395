import { PqError } from "./pq-error.js";

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

/**
 * The u-coordinates of the points of small order on Curve25519 and its twist (little-endian, the top bit
 * clear: RFC 7748 ignores it): 0, 1, the two points of order 8, p - 1, p and p + 1. X25519 with any of
 * them gives an all-zero shared secret, whatever the private key.
 */
export const X25519_LOW_ORDER_POINTS: readonly Uint8Array[] = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
].map(hex);

/**
 * Refuses an X25519 public key of small order (`PqError("x25519_zero")`), without a Diffie-Hellman: a key
 * that arrives before it is used (a hybrid key in a token, checked before the WebSocket upgrade) is refused
 * then, with the reason, instead of after the upgrade. Use refuses the same keys (an all-zero result).
 */
export function checkX25519Share(share: Uint8Array): void {
  if (share.length !== 32) throw new PqError("x25519_invalid", "X25519 public key must be 32 bytes");
  for (const point of X25519_LOW_ORDER_POINTS) {
    let diff = ((share[31] as number) & 0x7f) ^ (point[31] as number);
    for (let i = 0; i < 31; i++) diff |= (share[i] as number) ^ (point[i] as number);
    if (diff === 0) throw new PqError("x25519_zero", "X25519 share is a point of small order (its shared secret would be all zero)");
  }
}
