import { createHmac } from "node:crypto";
import { connectBare } from "./bare-bench-client.js";
import type { BenchPeer } from "./bench-peer.js";
import { connectPeerJs } from "./peerjs-bench-client.js";
import { connectVolly } from "./volly-bench-client.js";

/** Which kind of server a peer talks to. */
export type TargetKind = "bare" | "peerjs" | "volly";

const TOKEN_HEADER = Buffer.from(JSON.stringify({ alg: "HS256" })).toString("base64url");

/**
 * An access token as the application's backend would mint it (LiveKit layout, HS256). Signed with
 * node:crypto: minting is the app server's work, not the client's, and jose's WebCrypto signing cost the
 * one-core generator more than a whole handshake.
 */
function token(identity: string, room: string): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = { video: { roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true }, iss: "volly-dev-key", sub: identity, nbf: now - 5, exp: now + 3600 };
  const input = `${TOKEN_HEADER}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  return `${input}.${createHmac("sha256", "volly-dev-secret-key-2024").update(input).digest("base64url")}`;
}

/** Connects participant `id` (in `room`, for servers that have rooms) to the server on `port`, joined when it resolves. */
export function connectPeer(kind: TargetKind, port: number, id: string, room: string, pq: boolean): Promise<BenchPeer & { joinMs: number }> {
  if (kind === "bare") return connectBare(port, id);
  if (kind === "peerjs") return connectPeerJs(port, id);
  return connectVolly(port, token(id, room), pq);
}
