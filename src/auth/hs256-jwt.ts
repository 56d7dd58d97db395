import { timingSafeEqual } from "node:crypto";
import { errors } from "../errors.js";
import { sha256 } from "../pq/sha256.js";

/** A JWT payload: whatever JSON object the token carries. */
export type JwtPayload = Readonly<Record<string, unknown>>;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Verifies a compact HS256 JWT synchronously, its HMAC by OpenSSL (`pq/sha256.ts`). Accepts exactly
 * `alg: "HS256"` (so `none`, HS384/512 and RS256 confusion are refused), refuses `crit` extensions it does
 * not understand, checks the signature in constant time, requires `exp` and honours `nbf`, both with
 * `leewaySeconds`.
 *
 * Why not jose here: jose verifies through WebCrypto, which on Node 20 costs ~200 µs per token (a
 * thread-pool job and promise per HMAC); this is the join hot path. jose still signs refreshed tokens.
 * Throws catalogue errors: `token_invalid`, `api_key_unknown`.
 */
export function verifyHs256(
  token: string,
  secretOf: (apiKey: string) => Uint8Array | undefined,
  nowSeconds: number,
  leewaySeconds: number,
): { apiKey: string; payload: JwtPayload } {
  const parts = token.split(".");
  if (parts.length !== 3) throw errors.tokenInvalid("malformed token");
  const [h, p, s] = parts as [string, string, string];
  checkHeader(h);
  const payload = decodeJson(p);
  const iss = payload.iss;
  const secret = typeof iss === "string" ? secretOf(iss) : undefined;
  if (typeof iss !== "string" || secret === undefined) throw errors.apiKeyUnknown();
  if (!BASE64URL.test(s)) throw errors.tokenInvalid("signature is invalid");
  const signature = Buffer.from(s, "base64url");
  // The signing input is the token up to its last dot (`h.p`), taken as a slice rather than rebuilt; both
  // parts decoded as base64url above, so it is ASCII and latin1 is its UTF-8.
  const expected = sha256.hmacSha256(secret, Buffer.from(token.slice(0, h.length + 1 + p.length), "latin1"));
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) throw errors.tokenInvalid("signature is invalid");
  if (payload.exp === undefined) throw errors.tokenInvalid("claim exp is required");
  if (!isNumericDate(payload.exp)) throw errors.tokenInvalid("claim exp must be a number of seconds up to year 9999");
  if (nowSeconds - leewaySeconds >= payload.exp) throw errors.tokenInvalid("token is expired");
  if (payload.nbf !== undefined) {
    if (!isNumericDate(payload.nbf)) throw errors.tokenInvalid("claim nbf must be a number of seconds up to year 9999");
    if (nowSeconds + leewaySeconds < payload.nbf) throw errors.tokenInvalid("token is not valid yet");
  }
  return { apiKey: iss, payload };
}

/**
 * Headers that passed the checks below. Every token of a deployment carries one of a handful of headers
 * (`{"alg":"HS256"}`, maybe with `typ`), so decoding and checking it again for every connection is waste;
 * only accepted headers are remembered (a refused one is refused again, in full, every time), and the set
 * is bounded so a flood of distinct valid headers cannot grow it.
 */
const acceptedHeaders = new Set<string>();
const MAX_ACCEPTED_HEADERS = 64;

/** Accepts exactly `alg: "HS256"` without `crit`; throws `token_invalid` otherwise. */
function checkHeader(h: string): void {
  if (acceptedHeaders.has(h)) return;
  const header = decodeJson(h);
  if (header.alg !== "HS256") throw errors.tokenInvalid(`algorithm ${String(header.alg).slice(0, 16)} not allowed`);
  if (header.crit !== undefined) throw errors.tokenInvalid("unsupported crit header");
  if (acceptedHeaders.size < MAX_ACCEPTED_HEADERS) acceptedHeaders.add(h);
}

/**
 * The latest expiry or start a token may name: the end of year 9999 (what RFC 3339 and most JWT libraries
 * can write). A larger number never expires in practice, and past 2^53 it is no longer an exact number of
 * milliseconds, so a refreshed token's expiry could not be carried. Fractions are allowed (RFC 7519's
 * NumericDate) and rounded down where the server keeps the expiry.
 */
const MAX_NUMERIC_DATE = 253_402_300_799;

function isNumericDate(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && v <= MAX_NUMERIC_DATE;
}

/** `\uD800`-`\uDFFF` written as a JSON escape: the only way a lone surrogate gets into parsed UTF-8 text. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
/** A UTF-16 surrogate without its pair (with the `u` flag a well-formed pair is one code point, not `Cs`). */
const LONE_SURROGATE = /\p{Cs}/u;

function decodeJson(part: string): Record<string, unknown> {
  if (!BASE64URL.test(part)) throw errors.tokenInvalid("malformed token");
  const text = Buffer.from(part, "base64url").toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw errors.tokenInvalid("malformed token");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw errors.tokenInvalid("malformed token");
  // A lone surrogate cannot be sent on in UTF-8 (protobuf refuses it deep inside a join) and turns into
  // U+FFFD on the way out, so two identities would look alike: refuse the token. Checked in full only when
  // the text escapes a surrogate at all, which ordinary tokens never do.
  if (SURROGATE_ESCAPE.test(text) && !wellFormed(value)) throw errors.tokenInvalid("claims must be well-formed Unicode");
  return value as Record<string, unknown>;
}

function wellFormed(value: unknown): boolean {
  if (typeof value === "string") return !LONE_SURROGATE.test(value);
  if (value === null || typeof value !== "object") return true;
  for (const [k, v] of Object.entries(value)) if (LONE_SURROGATE.test(k) || !wellFormed(v)) return false;
  return true;
}
