import { createHmac, timingSafeEqual } from "node:crypto";
import { errors } from "../errors.js";

/** A JWT payload: whatever JSON object the token carries. */
export type JwtPayload = Readonly<Record<string, unknown>>;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Verifies a compact HS256 JWT synchronously with node:crypto. Accepts exactly `alg: "HS256"` (so `none`,
 * HS384/512 and RS256 confusion are refused), refuses `crit` extensions it does not understand, checks
 * the signature in constant time, requires `exp` and honours `nbf`, both with `leewaySeconds`.
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
  const header = decodeJson(h);
  if (header.alg !== "HS256") throw errors.tokenInvalid(`algorithm ${String(header.alg).slice(0, 16)} not allowed`);
  if (header.crit !== undefined) throw errors.tokenInvalid("unsupported crit header");
  const payload = decodeJson(p);
  const iss = payload.iss;
  const secret = typeof iss === "string" ? secretOf(iss) : undefined;
  if (typeof iss !== "string" || secret === undefined) throw errors.apiKeyUnknown();
  if (!BASE64URL.test(s)) throw errors.tokenInvalid("signature is invalid");
  const signature = Buffer.from(s, "base64url");
  const expected = createHmac("sha256", secret).update(`${h}.${p}`).digest();
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) throw errors.tokenInvalid("signature is invalid");
  if (typeof payload.exp !== "number" || !Number.isFinite(payload.exp)) throw errors.tokenInvalid("claim exp is required");
  if (nowSeconds - leewaySeconds >= payload.exp) throw errors.tokenInvalid("token is expired");
  if (payload.nbf !== undefined) {
    if (typeof payload.nbf !== "number" || !Number.isFinite(payload.nbf)) throw errors.tokenInvalid("claim nbf failed validation");
    if (nowSeconds + leewaySeconds < payload.nbf) throw errors.tokenInvalid("token is not valid yet");
  }
  return { apiKey: iss, payload };
}

function decodeJson(part: string): Record<string, unknown> {
  if (!BASE64URL.test(part)) throw errors.tokenInvalid("malformed token");
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    throw errors.tokenInvalid("malformed token");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw errors.tokenInvalid("malformed token");
  return value as Record<string, unknown>;
}
