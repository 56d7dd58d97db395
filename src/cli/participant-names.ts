import { errors } from "../errors.js";

// The rule src/session/authorize-connection.ts applies to a joining token's identity and room, with its
// limits and the catalogue's own messages. That module keeps its check inline and exports nothing to call,
// so the CLI states the rule here; test/ops/cli.test.ts mints tokens on both sides of each limit and asserts
// that the CLI refuses exactly what a running server's /rtc/validate refuses, so the two cannot drift apart.
const MAX_IDENTITY = 256;
const MAX_ROOM = 256;
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Why a token for `identity` in `room` would be refused by the server, as `--flag: reason`, or undefined when
 * it would be accepted. A token the server refuses is worse than no token: it fails later, at the upgrade.
 */
export function participantNamesProblem(identity: string, room: string): string | undefined {
  if (identity === "") return `--identity: ${errors.identityMissing().rawMessage}`;
  if (identity.length > MAX_IDENTITY || CONTROL.test(identity)) return `--identity: ${errors.identityTooLong(MAX_IDENTITY).rawMessage}`;
  if (room === "") return `--room: ${errors.roomNameMissing().rawMessage}`;
  if (room.length > MAX_ROOM || CONTROL.test(room)) return `--room: ${errors.roomNameInvalid(MAX_ROOM).rawMessage}`;
  return undefined;
}
