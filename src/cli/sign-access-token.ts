import { SignJWT } from "jose";

/** What goes into an access token minted by the CLI (LiveKit's layout plus Volly's PQ claims). */
export interface AccessTokenRequest {
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly identity: string;
  readonly room: string;
  readonly name?: string;
  readonly metadata?: string;
  readonly ttlSeconds: number;
  /** The token-bound client key (DESIGN §3 way a). */
  readonly pq?: {
    readonly algorithm: string;
    /** Standard base64 of the client public key (1184 bytes for ML-KEM-768). */
    readonly publicKey: string;
    /** Milliseconds since the epoch. */
    readonly keyExpiry: number;
  };
}

/** A signed token and its expiry (seconds since the epoch). */
export interface SignedAccessToken {
  readonly token: string;
  readonly expiresAt: number;
}

/**
 * Signs an HS256 access token the way livekit-server-sdk's `AccessToken` does: `iss` = API key, `sub` =
 * identity, `nbf` = now, `exp` = now + ttl, a `video` grant that joins `room` and may publish, subscribe,
 * send data and update its own metadata; with `pq`, the `pqPublicKey`/`pqAlgorithm`/`pqKeyExpiry` claims.
 */
export async function signAccessToken(r: AccessTokenRequest, nowMs: number = Date.now()): Promise<SignedAccessToken> {
  const now = Math.floor(nowMs / 1000);
  const expiresAt = now + r.ttlSeconds;
  const claims: Record<string, unknown> = {
    video: { roomJoin: true, room: r.room, canPublish: true, canSubscribe: true, canPublishData: true, canUpdateOwnMetadata: true },
  };
  if (r.name !== undefined) claims.name = r.name;
  if (r.metadata !== undefined) claims.metadata = r.metadata;
  if (r.pq) {
    claims.pqPublicKey = r.pq.publicKey;
    claims.pqAlgorithm = r.pq.algorithm;
    claims.pqKeyExpiry = r.pq.keyExpiry;
  }
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(r.apiKey)
    .setSubject(r.identity)
    .setNotBefore(now)
    .setExpirationTime(expiresAt)
    .sign(new TextEncoder().encode(r.apiSecret));
  return { token, expiresAt };
}
