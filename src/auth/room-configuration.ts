import { errors } from "../errors.js";

/**
 * What Volly takes from a token's `roomConfig` claim (LiveKit's `RoomConfiguration`, set by
 * livekit-server-sdk's `AccessToken.roomConfig`): the room that the token's join creates gets these. A room
 * that exists already is not changed, as in LiveKit. 0 means the server default, as in CreateRoom.
 */
export interface TokenRoomConfig {
  /** Seconds; 0 = the server default (`VOLLY_EMPTY_TIMEOUT`). */
  readonly emptyTimeout: number;
  /** Seconds; 0 = `emptyTimeout` applies after the last participant left too. */
  readonly departureTimeout: number;
  /** 0 = the server default (`VOLLY_MAX_PARTICIPANTS`). */
  readonly maxParticipants: number;
  readonly metadata: string;
}

const UINT32_MAX = 0xffff_ffff;

/**
 * Reads the `roomConfig` claim; undefined when absent. The fields above must have their protobuf types
 * (uint32, string), under their JSON names (`emptyTimeout`) or proto names (`empty_timeout`) as protojson
 * reads them; anything else makes the token invalid rather than a room unlike the one asked for. Every other
 * field (`name`, which the video grant's `room` decides, playout delays, `syncStreams`, `agents`, `egress`,
 * `tags`...) is about media or LiveKit services: accepted and ignored.
 */
export function parseRoomConfig(value: unknown): TokenRoomConfig | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw errors.tokenInvalid("claim roomConfig must be an object");
  const v = value as Record<string, unknown>;
  return {
    emptyTimeout: uint32Field(v, "emptyTimeout", "empty_timeout"),
    departureTimeout: uint32Field(v, "departureTimeout", "departure_timeout"),
    maxParticipants: uint32Field(v, "maxParticipants", "max_participants"),
    metadata: text(v.metadata),
  };
}

/** A uint32 field (absent or null reads as 0). */
function uint32Field(v: Record<string, unknown>, name: string, protoName: string): number {
  const n = v[name] ?? v[protoName];
  if (n === undefined || n === null) return 0;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > UINT32_MAX) {
    throw errors.tokenInvalid(`roomConfig.${name} must be an integer from 0 to ${UINT32_MAX}`);
  }
  return n;
}

function text(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw errors.tokenInvalid("roomConfig.metadata must be a string");
  return value;
}
