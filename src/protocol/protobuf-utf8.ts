import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";
// Installs the decoder that keeps a leading U+FEFF, which the encoder below then wraps and keeps.
import "./text-encoding.js";

/**
 * Longest string the fast path takes. Signaling records are mostly short ASCII strings (ids, names, states);
 * past this, TextEncoder's fixed cost no longer dominates.
 */
const SHORT = 128;

/**
 * `text` as UTF-8 when it is short and all ASCII (where UTF-8 is one byte per UTF-16 code unit), else
 * undefined. `TextEncoder.encode` costs about 1.9 µs for a 10-character string on Node 20 (a call into C++
 * and a fresh ArrayBuffer), this loop about 0.15 µs; protobuf-es encodes every string field through it.
 */
export function encodeShortAscii(text: string): Uint8Array<ArrayBuffer> | undefined {
  const n = text.length;
  if (n > SHORT) return undefined;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return undefined;
    out[i] = c;
  }
  return out;
}

let installed = false;

/**
 * Gives protobuf-es (through its `configureTextEncoding` hook, process-wide) an encoder that takes the
 * ASCII fast path above and hands every other string to the encoding it had, so the bytes are always
 * exactly TextEncoder's. Decoding and UTF-8 checks stay as they are (text-encoding.ts). Idempotent.
 */
export function useFastProtobufUtf8(): void {
  if (installed) return;
  const base = getTextEncoding();
  configureTextEncoding({
    checkUtf8: base.checkUtf8,
    decodeUtf8: base.decodeUtf8,
    encodeUtf8: (text) => encodeShortAscii(text) ?? base.encodeUtf8(text),
  });
  installed = true;
}
