import { randomBytesPooled } from "../pq/node-primitives.js";

const ALPHANUM = Array.from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", (c) => c.charCodeAt(0));
const HEX = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

/**
 * An id built from its character codes in one call, so it is one flat string: built with `+=`, past 12
 * characters V8 keeps a chain of rope nodes, which every connection would hold for its lifetime.
 */
function randomId(prefix: string, digits: number, digit: (i: number, random: Uint8Array) => number): string {
  const random = randomBytesPooled(digits);
  const codes = new Array<number>(prefix.length + digits);
  for (let i = 0; i < prefix.length; i++) codes[i] = prefix.charCodeAt(i);
  for (let i = 0; i < digits; i++) codes[prefix.length + i] = digit(i, random);
  return String.fromCharCode(...codes);
}

/** A LiveKit-style id: prefix + 12 random alphanumerics. */
export function newSid(prefix: "PA_" | "RM_"): string {
  return randomId(prefix, 12, (i, r) => ALPHANUM[r[i]! % ALPHANUM.length]!);
}

/**
 * A connection id for logs and presence: its participant's sid, a dot and 12 hex digits (48 random bits,
 * from the pool). A resume is a new connection of the same participant; the sid lets whoever removes the
 * participant take all its connections offline (`setParticipantOffline`) without knowing them.
 */
export function newConnectionId(sid: string): string {
  return randomId(`${sid}.`, 12, (i, r) => HEX[r[i]! & 15]!);
}
