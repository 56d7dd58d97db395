/**
 * Byte encodings used by the post-quantum key schedule and record layer (browser-safe: Uint8Array only).
 */

const encoder = new TextEncoder();

/** Concatenation of `parts` into one new array. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** 4-byte big-endian encoding of an integer in [0, 2^32). */
export function uint32be(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError("uint32 out of range");
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, false);
  return out;
}

/** 8-byte big-endian encoding of an integer in [0, 2^64). */
export function uint64be(value: bigint | number): Uint8Array {
  const v = typeof value === "bigint" ? value : toBigInt(value);
  if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError("uint64 out of range");
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, false);
  return out;
}

function toBigInt(value: number): bigint {
  if (!Number.isSafeInteger(value)) throw new RangeError("uint64 must be a safe integer or a bigint");
  return BigInt(value);
}

/** Length-prefixed bytes: `uint32_be(len(x)) ‖ x` (DESIGN §5 `lp`). */
export function lp(x: Uint8Array): Uint8Array {
  return concat(uint32be(x.length), x);
}

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Equality whose running time depends only on the lengths, not on where the arrays differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** True when every byte is zero (constant time in the length). */
export function isAllZero(a: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i]!;
  return acc === 0;
}

/** Lowercase hex encoding. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, "0");
  return s;
}

/** Overwrites each array with zeros (best effort: copies made by the runtime cannot be reached). */
export function zeroize(...arrays: ReadonlyArray<Uint8Array | undefined>): void {
  for (const a of arrays) a?.fill(0);
}
