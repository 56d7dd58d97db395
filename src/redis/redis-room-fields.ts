import { create } from "@bufbuild/protobuf";
import { RoomSchema, type Room } from "../../gen/volly/signaling/v1/models_pb.js";
import { reply } from "./lua-script.js";

/**
 * A room as Redis keeps it: the `room:<name>` HASH of readable fields (redis-keys.ts), which the scripts read
 * to time an empty room and enforce its limit. Besides the Room's fields the hash holds `empty_since` and
 * `departed`, the scripts' own.
 */

/** Room fields as script arguments: name, sid, empty_timeout, max_participants, creation_time, metadata, departure_timeout. */
export function roomArgs(room: Room): string[] {
  return [
    room.name, room.sid, String(room.emptyTimeout), String(room.maxParticipants), String(room.creationTime), room.metadata,
    String(room.departureTimeout),
  ];
}

/** A script's room row {flat fields, participant count} as a Room. A field missing (a room written by an older node) reads as 0. */
export function decodeRoomRow(row: unknown): Room {
  const [flat, count] = reply.array(row);
  const f = reply.fields(flat);
  return create(RoomSchema, {
    sid: f.get("sid") ?? "",
    name: f.get("name") ?? "",
    emptyTimeout: Number(f.get("empty_timeout") ?? 0),
    departureTimeout: Number(f.get("departure_timeout") ?? 0),
    maxParticipants: Number(f.get("max_participants") ?? 0),
    creationTime: BigInt(f.get("creation_time") ?? "0"),
    metadata: f.get("metadata") ?? "",
    numParticipants: reply.number(count),
  });
}
