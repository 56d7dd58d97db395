import type { AccessClaims } from "../auth/access-token.js";
import { checkIdentity, checkRoomName } from "../auth/participant-names.js";
import { errorIdOf, errors } from "../errors.js";
import { DEFAULT_PQ_ALGORITHM, parsePqAlgorithm } from "../protocol/pq/algorithms.js";
import { checkParticipantFields } from "../room/participant-fields.js";
import { validateTokenPqClaims, type TokenPqKey } from "../pq/token-pq-claims.js";
import type { ConnectParams } from "./connect-params.js";
import type { NodeServices } from "./node-services.js";

/** A connection that passed every check: its claims and, if the token binds one, its PQ key. */
export interface AuthorizedConnection {
  readonly claims: AccessClaims;
  readonly pqKey: TokenPqKey | undefined;
}

/**
 * Every check a connection must pass before it is upgraded (WebSocket) or its stream starts (gRPC):
 * token, room grant, identity, room name, the participant's name, metadata and attributes, the token's PQ claims (strict base64, exact length, FIPS 203
 * modulus check, expiry in ms), and that the room exists or may be created. The same checks answer
 * `/rtc/validate` (`purpose` "validate": nothing is counted). Throws catalogue errors.
 */
export async function authorizeConnection(svc: NodeServices, params: ConnectParams, purpose: "connect" | "validate" = "connect"): Promise<AuthorizedConnection> {
  if (params.token === undefined || params.token === "") throw errors.tokenMissing();
  const claims = await svc.tokens.verify(params.token);
  const video = claims.video;
  if (!video.roomJoin) throw errors.noRoomGrant();
  checkIdentity(claims.identity);
  checkRoomName(video.room);
  // A token may carry what `update_metadata` and UpdateParticipant would refuse: the same limits apply.
  checkParticipantFields(claims);
  const { pqPublicKey, pqAlgorithm, pqKeyExpiry } = claims.payload;
  let pqKey: TokenPqKey | undefined;
  try {
    pqKey = validateTokenPqClaims({ pqPublicKey, pqAlgorithm, pqKeyExpiry }, Date.now());
    if (pqKey && svc.config.pq.enabled && svc.config.pq.requireHybrid && pqKey.algorithm !== "X25519MLKEM768") {
      throw errors.pqHybridRequired();
    }
  } catch (e) {
    if (purpose === "connect" && svc.config.pq.enabled) countRefusedTokenKey(svc, e, pqAlgorithm);
    throw e;
  }
  if (!params.reconnect && !svc.config.rooms.autoCreate && !video.roomCreate) {
    if ((await svc.store.getRoom(video.room)) === undefined) throw errors.roomNotFound();
  }
  return { claims, pqKey };
}

/**
 * A token whose key is refused (way a) is a failed handshake that never reached the upgrade: operators find
 * handshake failures by `grep pq_handshake`, the `result` field and `volly_pq_handshakes_total`, whichever
 * way the key came.
 */
function countRefusedTokenKey(svc: NodeServices, e: unknown, claimed: unknown): void {
  const result = errorIdOf(e) ?? "internal";
  const algorithm = claimed === undefined ? DEFAULT_PQ_ALGORITHM : (parsePqAlgorithm(claimed) ?? "");
  svc.metrics.handshakes.inc({ result, algorithm });
  svc.log.warn({ event: "pq_handshake", result, way: "token", ...(algorithm === "" ? {} : { algorithm }) }, "pq_handshake failed");
}
