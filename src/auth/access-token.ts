import { SignJWT } from "jose";
import { errors } from "../errors.js";
import type { ApiKeys } from "./api-keys.js";
import { intern } from "../intern-string.js";
import { verifyHs256, type JwtPayload } from "./hs256-jwt.js";
import { parseVideoGrant, type VideoGrant } from "./video-grant.js";
import { parseRoomConfig, type TokenRoomConfig } from "./room-configuration.js";

/** LiveKit's leeway for clock skew (exp, nbf). */
const CLOCK_TOLERANCE_SECONDS = 60;
/**
 * Tokens are sent in URLs. A real one is ~300 characters, ~2,600 with a hybrid `pqPublicKey`; anything
 * past this is an attack, refused before any parsing.
 */
export const MAX_TOKEN_LENGTH = 8192;

/** The claims of a verified access token (LiveKit layout plus Volly's PQ claims). */
export interface AccessClaims {
  /** The compact JWT exactly as it authenticated the connection (input to the PQ transcript). */
  readonly token: string;
  readonly apiKey: string;
  readonly identity: string;
  readonly name: string;
  readonly metadata: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly video: VideoGrant;
  /** The `roomConfig` claim: how the room is made when this token's join creates it. */
  readonly roomConfig?: TokenRoomConfig;
  /** Seconds since the epoch. */
  readonly expiresAt: number;
  /** Every claim: for re-signing a refreshed token, and the PQ claims (validated at connect time). */
  readonly payload: JwtPayload;
}

/** Verifies HS256 access tokens against the configured keys. */
export class TokenVerifier {
  private readonly cryptoKeys = new Map<string, Promise<CryptoKey>>();
  private readonly secrets = new Map<string, Uint8Array>();

  constructor(private readonly keys: ApiKeys) {}

  /**
   * Verifies `token`: HS256 only (`none` and every other algorithm refused), known `iss`, signature,
   * required `exp`, `nbf`, 60 s leeway. Throws catalogue errors (`token_invalid`, `api_key_unknown`).
   */
  async verify(token: string): Promise<AccessClaims> {
    if (token.length > MAX_TOKEN_LENGTH) throw errors.tokenInvalid("token too long");
    const { apiKey, payload } = verifyHs256(token, (key) => this.secret(key), Math.floor(Date.now() / 1000), CLOCK_TOLERANCE_SECONDS);
    return toClaims(token, apiKey, payload);
  }

  /**
   * Signs a token with the first configured key, keeping every claim of `claims` but a token-bound PQ
   * key (`withoutPqKey`), and giving it the later of `minValiditySeconds` from now and the original
   * expiry (LiveKit #4580: never shorten).
   */
  async refresh(claims: AccessClaims, minValiditySeconds: number): Promise<{ token: string; expiresAtMs: number }> {
    const [apiKey] = this.keys.keys();
    if (apiKey === undefined) throw errors.internal();
    const now = Math.floor(Date.now() / 1000);
    const exp = Math.max(now + minValiditySeconds, claims.expiresAt);
    const { iss: _iss, exp: _exp, nbf: _nbf, iat: _iat, ...rest } = withoutPqKey(claims.payload);
    const token = await new SignJWT(rest)
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(apiKey)
      .setNotBefore(now)
      .setExpirationTime(exp)
      .sign(await this.cryptoKey(apiKey));
    return { token, expiresAtMs: exp * 1000 };
  }

  private secret(apiKey: string): Uint8Array | undefined {
    let secret = this.secrets.get(apiKey);
    if (secret === undefined) {
      const text = this.keys.get(apiKey);
      if (text === undefined) return undefined;
      secret = new TextEncoder().encode(text);
      this.secrets.set(apiKey, secret);
    }
    return secret;
  }

  private cryptoKey(apiKey: string): Promise<CryptoKey> {
    let key = this.cryptoKeys.get(apiKey);
    if (key === undefined) {
      const secret = new TextEncoder().encode(this.keys.get(apiKey) ?? "");
      key = crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
      this.cryptoKeys.set(apiKey, key);
    }
    return key;
  }
}

/** A string claim; absent or null reads as "". */
function str(v: unknown, claim: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw errors.tokenInvalid(`claim ${claim} must be a string`);
  return v;
}

/**
 * The claims without a token-bound PQ key (`pqPublicKey`, `pqAlgorithm`, `pqKeyExpiry`). A refreshed token
 * must not carry them: the key expires (`pqKeyExpiry`) long before the participant may need to resume, and
 * a copied expired key would get every resume refused. Without them the resume uses an ephemeral key (way
 * (b), forward secret), while the participant's record keeps the key the join published.
 */
export function withoutPqKey(payload: JwtPayload): JwtPayload {
  const { pqPublicKey: _key, pqAlgorithm: _algorithm, pqKeyExpiry: _expiry, ...rest } = payload;
  return rest;
}

/**
 * What a joined connection keeps of its claims for refreshing its token: the claims a refresh signs again,
 * as one JSON string. The decoded claims are a tree of objects (claims, payload, two video grants,
 * attributes) of about 400 bytes held for hours and read every ten minutes at most. Left out are the
 * claims a refresh sets itself (`iss`, `iat`, `nbf`, `exp`; the expiry is kept as a number beside it), the
 * PQ key claims it leaves out (`withoutPqKey`; ~1.6 KB of base64, and the participant's record has the key),
 * and `sub` when it is the identity, which the connection keeps anyway; what remains is often the same for
 * everyone in a room (its grant), and equal strings are kept once (`intern`).
 */
export type KeptClaims = string & { readonly __kept: true };

export function keepClaims(claims: AccessClaims): KeptClaims {
  const { iss: _iss, iat: _iat, nbf: _nbf, exp: _exp, sub, ...rest } = withoutPqKey(claims.payload);
  return intern(JSON.stringify(sub === claims.identity ? rest : { ...rest, sub })) as KeptClaims;
}

/**
 * The claims `keepClaims` kept, decoded again with the connection's identity (as `sub`, unless the kept
 * claims name another) and expiry (seconds since the epoch). Without the token, which is never kept, and
 * without the API key: a refresh signs with the node's own.
 */
export function restoreClaims(kept: KeptClaims, identity: string, expiresAt: number): AccessClaims {
  const rest = JSON.parse(kept) as JwtPayload;
  return toClaims("", "", { sub: identity, ...rest, exp: expiresAt });
}

function toClaims(token: string, apiKey: string, p: JwtPayload): AccessClaims {
  let attributes: Record<string, string> = {};
  if (p.attributes !== undefined) {
    if (typeof p.attributes !== "object" || p.attributes === null || Array.isArray(p.attributes)) {
      throw errors.tokenInvalid("claim attributes must be an object of strings");
    }
    // fromEntries defines each key, so a `__proto__` key stays a key and the join's field checks refuse it.
    attributes = Object.fromEntries(Object.entries(p.attributes).map(([k, v]) => [k, str(v, `attributes.${k}`)]));
  }
  return {
    token,
    apiKey,
    identity: str(p.sub, "sub") || str(p.jti, "jti"),
    name: str(p.name, "name"),
    metadata: str(p.metadata, "metadata"),
    attributes,
    video: parseVideoGrant(p.video),
    roomConfig: parseRoomConfig(p.roomConfig),
    expiresAt: typeof p.exp === "number" ? Math.floor(p.exp) : 0,
    payload: p,
  };
}
