import type { AccessClaims, TokenVerifier } from "../auth/access-token.js";
import { bearerToken } from "../auth/bearer-token.js";
import { errors } from "../errors.js";

/**
 * The caller of the room API, authenticated from its `authorization: Bearer <jwt>` header, and the checks
 * of LiveKit's RoomService grants. Each `require*` throws a `permission_denied` catalogue error when the
 * token's video grant does not allow the operation.
 */
export class ApiCaller {
  private constructor(readonly claims: AccessClaims) {}

  /**
   * Verifies the header value (`Bearer <jwt>`, as LiveKit's SDKs send it). Throws `token_missing`,
   * `authorization_header_invalid`, `token_invalid` or `api_key_unknown` (all unauthenticated).
   */
  static async authenticate(tokens: TokenVerifier, authorization: string | undefined): Promise<ApiCaller> {
    if (authorization === undefined || authorization === "") throw errors.tokenMissing();
    const token = bearerToken(authorization);
    if (token === "") throw errors.tokenMissing();
    return new ApiCaller(await tokens.verify(token));
  }

  /** Listing rooms: `roomList`. */
  requireList(): void {
    if (!this.claims.video.roomList) throw errors.roomListRequired();
  }

  /** Creating and deleting rooms: `roomCreate`. */
  requireCreate(): void {
    if (!this.claims.video.roomCreate) throw errors.roomCreateRequired();
  }

  /** Managing one room and its participants: `roomAdmin` in a token whose `room` is that room. */
  requireAdmin(room: string): void {
    const { roomAdmin, room: granted } = this.claims.video;
    if (!roomAdmin || granted !== room) throw errors.roomAdminRequired(room);
  }

  /**
   * Cluster-wide session statistics: `roomList` or `roomAdmin` (of any room). The numbers are the same as
   * the API port's unauthenticated `/volly/sessions/stats`, so any operator grant is enough.
   */
  requireStats(): void {
    const { roomList, roomAdmin } = this.claims.video;
    if (!roomList && !roomAdmin) throw errors.statsGrantRequired();
  }
}
