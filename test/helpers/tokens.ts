import { SignJWT } from "jose";

export const DEV_KEY = "volly-dev-key";
export const DEV_SECRET = "volly-dev-secret-key-2024";

export interface TokenOptions {
  room?: string;
  identity: string;
  name?: string;
  metadata?: string;
  ttlSeconds?: number;
  nbf?: number;
  grant?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  key?: string;
  secret?: string;
  alg?: "HS256" | "HS384" | "HS512";
}

/** An access token in LiveKit's layout, signed like livekit-server-sdk does (jose, HS256, no typ). */
export async function makeToken(o: TokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({
    video: { roomJoin: true, room: o.room ?? "room-1", canPublish: true, canSubscribe: true, canPublishData: true, canUpdateOwnMetadata: true, ...o.grant },
    ...(o.name !== undefined ? { name: o.name } : {}),
    ...(o.metadata !== undefined ? { metadata: o.metadata } : {}),
    ...o.claims,
  })
    .setProtectedHeader({ alg: o.alg ?? "HS256" })
    .setIssuer(o.key ?? DEV_KEY)
    .setSubject(o.identity)
    .setNotBefore(o.nbf ?? now)
    .setExpirationTime(now + (o.ttlSeconds ?? 3600));
  return jwt.sign(new TextEncoder().encode(o.secret ?? DEV_SECRET));
}
