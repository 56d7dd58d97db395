import type { Room } from "../../gen/volly/signaling/v1/models_pb.js";

/**
 * How long (ms) an empty room stays open, as LiveKit times it: `departure_timeout` once a participant was in
 * it and the last one left, when set; otherwise `empty_timeout`, which also covers a room nobody joined yet.
 * A 0 departure timeout keeps `empty_timeout` for both, the rule of deployments from before the field.
 * The Redis scripts apply the same rule (`empty_ms` in lua/helpers.ts).
 */
export function emptyRoomTimeoutMs(room: Pick<Room, "emptyTimeout" | "departureTimeout">, departed: boolean): number {
  return (departed && room.departureTimeout > 0 ? room.departureTimeout : room.emptyTimeout) * 1000;
}
