import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  StoredParticipantSchema,
  StoredSessionSchema,
  type StoredParticipant,
  type StoredSession,
} from "../../gen/volly/signaling/v1/internal_pb.js";
import type { RosterRecord } from "../protocol/roster-frames.js";
// Records are read back through protobuf-es: its decoder must keep a name's leading U+FEFF, or a record
// stops matching the `room:<name>:sids` entry it is stored under.
import "../protocol/text-encoding.js";
import { reply } from "./lua-script.js";

/**
 * How records look in Redis. Participants are StoredParticipant protobufs whose routing facts (node_id,
 * away_until) are left empty, because they change often and scripts must read them: those live in
 * `participant:<sid>` and are merged back on read. Sessions are HASHes of readable fields, and so are rooms
 * (redis-room-fields.ts).
 */

/** The protobuf kept in `room:<name>:participants` (routing facts stripped). */
export function encodeParticipant(p: StoredParticipant): Uint8Array {
  return toBinary(StoredParticipantSchema, create(StoredParticipantSchema, { info: p.info, room: p.room, nodeId: "", awayUntil: 0n }));
}

/** A script's participant row {bytes, node_id, away_until} as a record. */
export function decodeParticipantRow(row: unknown): StoredParticipant {
  const [bytes, node, away] = reply.array(row);
  const p = fromBinary(StoredParticipantSchema, reply.bytes(bytes));
  p.nodeId = reply.string(node);
  p.awayUntil = BigInt(reply.string(away));
  return p;
}

/** A list of participant rows (nil entries skipped). */
export function decodeParticipantRows(rows: unknown): StoredParticipant[] {
  return reply.array(rows).filter((r) => r !== null).map(decodeParticipantRow);
}

/** Participant rows as a roster: each record as stored, not decoded (nil entries skipped). */
export function rosterRows(rows: unknown): RosterRecord[] {
  return reply.array(rows).filter((r) => r !== null).map((row) => ({ record: reply.bytes(reply.array(row)[0]) }));
}

/** The documented fields of `session:<id>`, in order. Nothing else is ever written there. */
export const SESSION_FIELDS = [
  "identity", "room", "participant_sid", "algorithm", "node_id", "created_at", "expires_at", "rekeys", "state",
] as const;

/** Session script arguments: id, node, expires_at, then field/value pairs. */
export function sessionArgs(s: StoredSession): string[] {
  const values: Record<(typeof SESSION_FIELDS)[number], string> = {
    identity: s.identity,
    room: s.room,
    participant_sid: s.participantSid,
    algorithm: s.algorithm,
    node_id: s.nodeId,
    created_at: String(s.createdAt),
    expires_at: String(s.expiresAt),
    rekeys: String(s.rekeys),
    state: s.state,
  };
  return [s.sessionId, s.nodeId, String(s.expiresAt), ...SESSION_FIELDS.flatMap((f) => [f, values[f]])];
}

/** A `session:<id>` HASH as a record. */
export function decodeSession(id: string, f: Map<string, string>): StoredSession {
  return create(StoredSessionSchema, {
    sessionId: id,
    identity: f.get("identity") ?? "",
    room: f.get("room") ?? "",
    participantSid: f.get("participant_sid") ?? "",
    algorithm: f.get("algorithm") ?? "",
    nodeId: f.get("node_id") ?? "",
    createdAt: BigInt(f.get("created_at") ?? "0"),
    expiresAt: BigInt(f.get("expires_at") ?? "0"),
    rekeys: Number(f.get("rekeys") ?? 0),
    state: f.get("state") ?? "",
  });
}
