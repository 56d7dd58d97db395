import { decodeJwt, SignJWT } from "jose";
import { DEFAULT_PQ_ALGORITHM, parsePqAlgorithm, publicKeyLength, type PqAlgorithm } from "../protocol/pq/algorithms.js";
import { base64ToBytes, bytesToBase64 } from "./base64.js";
import { invalidArgument } from "./client-errors.js";

/** LiveKit's video grant (the `video` claim). */
export interface VollyVideoGrant {
  roomJoin?: boolean;
  room?: string;
  canPublish?: boolean;
  canSubscribe?: boolean;
  canPublishData?: boolean;
  canUpdateOwnMetadata?: boolean;
  hidden?: boolean;
  roomCreate?: boolean;
  roomList?: boolean;
  roomAdmin?: boolean;
}

/** What a token grants and carries. */
export interface VollyTokenOptions {
  room: string;
  identity: string;
  name?: string;
  metadata?: string;
  attributes?: Record<string, string>;
  /** Lifetime: seconds, or a jose time span such as "2h" (default 6 hours, LiveKit's). */
  ttl?: number | string;
  /** The client's encapsulation key (bytes or standard base64): binds the handshake to it (way (a)). */
  pqPublicKey?: Uint8Array | string;
  /** Default "ML-KEM-768"; only meaningful with `pqPublicKey`. */
  pqAlgorithm?: PqAlgorithm;
  /** Milliseconds since the epoch after which the key is refused (default: 24 hours from now, as in the seed). */
  pqKeyExpiry?: number;
  /** Grants on top of the defaults (roomJoin, room, canPublish, canSubscribe, canPublishData, canUpdateOwnMetadata). */
  grants?: VollyVideoGrant;
}

const DEFAULT_TTL_SECONDS = 6 * 3600;
const DEFAULT_PQ_KEY_LIFETIME_MS = 24 * 60 * 60 * 1000;

/**
 * Signs an access token in LiveKit's layout (HS256, `iss` = API key, `sub` = identity, `nbf`, `exp`, `video`
 * grant) plus Volly's `pqPublicKey`/`pqAlgorithm`/`pqKeyExpiry` claims. For application backends and development:
 * the API secret must never reach a browser in production. Throws `ConnectError` (`InvalidArgument`) for a
 * malformed key or options.
 */
export async function generateVollyAccessToken(apiKey: string, apiSecret: string, options: VollyTokenOptions): Promise<string> {
  if (!options.identity) throw invalidArgument("identity is required");
  if (!options.room && !options.grants?.room) throw invalidArgument("room is required");
  const claims: Record<string, unknown> = {
    video: {
      roomJoin: true, room: options.room, canPublish: true, canSubscribe: true, canPublishData: true, canUpdateOwnMetadata: true,
      ...options.grants,
    },
  };
  if (options.name !== undefined) claims.name = options.name;
  if (options.metadata !== undefined) claims.metadata = options.metadata;
  if (options.attributes !== undefined) claims.attributes = options.attributes;
  if (options.pqPublicKey !== undefined) Object.assign(claims, pqClaims(options));
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setIssuer(apiKey).setSubject(options.identity).setNotBefore(now);
  const ttl = options.ttl ?? DEFAULT_TTL_SECONDS;
  setLifetime(jwt, ttl, now);
  const token = await jwt.sign(new TextEncoder().encode(apiSecret));
  // jose also takes spans that end in the past ("-2h", "2h ago"): a token dead on arrival.
  const exp = decodeJwt(token).exp;
  if (exp === undefined || exp <= now) throw invalidArgument(`ttl must be ${TTL_FORM}, not ${JSON.stringify(ttl)}`);
  return token;
}

const TTL_FORM = 'a positive number of seconds or a time span such as "2h" or "30m"';

/** Sets `exp` from `ttl`, refusing (as `InvalidArgument`) what jose would throw a `TypeError` for. */
function setLifetime(jwt: SignJWT, ttl: number | string, now: number): void {
  if (typeof ttl === "number") {
    if (!Number.isFinite(ttl) || ttl <= 0) throw invalidArgument(`ttl must be ${TTL_FORM}, not ${ttl}`);
    jwt.setExpirationTime(now + ttl);
    return;
  }
  if (typeof ttl !== "string") throw invalidArgument(`ttl must be ${TTL_FORM}`);
  try {
    jwt.setExpirationTime(ttl);
  } catch {
    throw invalidArgument(`ttl must be ${TTL_FORM}, not ${JSON.stringify(ttl)}`);
  }
}

function pqClaims(options: VollyTokenOptions): Record<string, unknown> {
  const algorithm = parsePqAlgorithm(options.pqAlgorithm ?? DEFAULT_PQ_ALGORITHM);
  if (algorithm === undefined) throw invalidArgument(`unsupported pqAlgorithm ${JSON.stringify(options.pqAlgorithm)}`);
  const key = options.pqPublicKey as Uint8Array | string;
  let bytes: Uint8Array;
  try {
    bytes = typeof key === "string" ? base64ToBytes(key) : key;
  } catch {
    throw invalidArgument("pqPublicKey is not standard base64");
  }
  if (bytes.length !== publicKeyLength(algorithm)) {
    throw invalidArgument(`pqPublicKey must be ${publicKeyLength(algorithm)} bytes for ${algorithm}, got ${bytes.length}`);
  }
  return {
    pqPublicKey: bytesToBase64(bytes),
    pqAlgorithm: algorithm,
    pqKeyExpiry: options.pqKeyExpiry ?? Date.now() + DEFAULT_PQ_KEY_LIFETIME_MS,
  };
}
