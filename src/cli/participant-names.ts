import { checkIdentity, checkRoomName } from "../auth/participant-names.js";
import { ConnectError } from "@connectrpc/connect";

/**
 * Why a token for `identity` in `room` would be refused by the server, as `--flag: reason`, or undefined when
 * it would be accepted: the server's own checks (src/auth/participant-names.ts). A token the server refuses
 * is worse than no token: it fails later, at the upgrade.
 */
export function participantNamesProblem(identity: string, room: string): string | undefined {
  for (const [flag, check] of [["--identity", () => checkIdentity(identity)], ["--room", () => checkRoomName(room)]] as const) {
    try {
      check();
    } catch (e) {
      if (e instanceof ConnectError) return `${flag}: ${e.rawMessage}`;
      throw e;
    }
  }
  return undefined;
}
