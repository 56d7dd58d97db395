import { errors } from "../errors.js";

/** The most characters an identity, a room name or a participant name may have. */
export const MAX_NAME_CHARACTERS = 256;
/**
 * What names may not contain. Control characters (C0, DEL and C1, whose NEL is a line break to many log
 * viewers) end up in logs and UIs, refused as LiveKit does; a lone UTF-16 surrogate cannot be encoded in
 * UTF-8 and would turn into U+FFFD on the way out, so two different names would look the same.
 */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]|\p{Cs}/u;

/**
 * Whether `s` has at most `max` characters, counted as Unicode code points: the limits say "characters",
 * and 256 emoji (512 UTF-16 units) are 256 of them.
 */
export function withinCharacters(s: string, max: number): boolean {
  if (s.length <= max) return true;
  if (s.length > 2 * max) return false;
  let n = 0;
  for (const _ of s) if (++n > max) return false;
  return true;
}

/** A token's identity as every entry point checks it (the upgrade, `/rtc/validate`, the CLI). */
export function checkIdentity(identity: string): void {
  if (identity === "") throw errors.identityMissing();
  if (!withinCharacters(identity, MAX_NAME_CHARACTERS) || CONTROL_CHARACTERS.test(identity)) throw errors.identityTooLong(MAX_NAME_CHARACTERS);
}

/** A room name as every entry point checks it (tokens, RoomService, the CLI). */
export function checkRoomName(room: string): void {
  if (room === "") throw errors.roomNameMissing();
  if (!withinCharacters(room, MAX_NAME_CHARACTERS) || CONTROL_CHARACTERS.test(room)) throw errors.roomNameInvalid(MAX_NAME_CHARACTERS);
}
