// The roster is copied into `join`/`reconnect` from stored bytes (roster-frames.ts). It must decode, with
// any protobuf decoder, to exactly what decoding every record, filtering and re-encoding gave.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { create, equals, fromBinary, toBinary, toJson } from "@bufbuild/protobuf";
import { StoredParticipantSchema, type StoredParticipant } from "../../gen/volly/signaling/v1/internal_pb.js";
import { ParticipantInfoSchema, ParticipantPermissionSchema, ParticipantState, RoomSchema } from "../../gen/volly/signaling/v1/models_pb.js";
import { JoinResponseSchema, ReconnectResponseSchema, SignalResponseSchema } from "../../gen/volly/signaling/v1/signal_pb.js";
import {
  INFO_PERMISSION,
  INFO_SID,
  OTHER_PARTICIPANTS,
  PERMISSION_HIDDEN,
  STORED_INFO,
  startResponseWithRoster,
  type RosterRecord,
} from "../../src/protocol/roster-frames.js";

test("the field numbers are the schemas'", () => {
  assert.equal(STORED_INFO, StoredParticipantSchema.field.info.number);
  assert.equal(INFO_SID, ParticipantInfoSchema.field.sid.number);
  assert.equal(INFO_PERMISSION, ParticipantInfoSchema.field.permission.number);
  assert.equal(PERMISSION_HIDDEN, ParticipantPermissionSchema.field.hidden.number);
  assert.equal(OTHER_PARTICIPANTS, JoinResponseSchema.field.otherParticipants.number);
  assert.equal(OTHER_PARTICIPANTS, ReconnectResponseSchema.field.otherParticipants.number);
});

function stored(i: number, o: { hidden?: boolean; state?: ParticipantState; key?: boolean } = {}): StoredParticipant {
  return create(StoredParticipantSchema, {
    room: "r",
    nodeId: `node-${i % 3}`,
    info: create(ParticipantInfoSchema, {
      sid: `PA_${i}`,
      identity: `user-${i} ✓`,
      name: `User ${i}`,
      metadata: i % 2 ? `{"i":${i}}` : "",
      joinedAt: BigInt(1_700_000_000_000 + i),
      version: i,
      state: o.state ?? ParticipantState.JOINED,
      attributes: i % 3 ? { team: `t${i}`, "é": "ü" } : {},
      permission: create(ParticipantPermissionSchema, { canPublish: true, canSubscribe: i % 2 === 0, hidden: o.hidden ?? false }),
      pqPublicKey: o.key ? new Uint8Array(randomBytes(1184)) : new Uint8Array(0),
      pqAlgorithm: o.key ? "ML-KEM-768" : "",
    }),
  });
}

/** What the server sent before the roster was copied: every record decoded, filtered and encoded again. */
function decodedRoster(records: StoredParticipant[], selfSid: string) {
  return records.filter((p) => p.info !== undefined && !p.info.permission?.hidden && p.info.sid !== selfSid).map((p) => p.info!);
}

test("a copied roster decodes to the decoded-and-filtered one, for join and reconnect", () => {
  const records = Array.from({ length: 40 }, (_, i) =>
    stored(i, { hidden: i % 7 === 3, key: i % 5 === 0, state: i % 11 === 0 ? ParticipantState.DISCONNECTED : undefined }),
  );
  records.push(create(StoredParticipantSchema, { room: "r", nodeId: "x" })); // no info: never listed
  const roster: RosterRecord[] = records.map((p) => ({ record: toBinary(StoredParticipantSchema, p) }));
  const room = create(RoomSchema, { sid: "RM_x", name: "r", numParticipants: 41 });
  const self = "PA_8";

  const join = create(JoinResponseSchema, { room, participant: records[8]!.info, pingInterval: 10, resumeWindow: 30 });
  const joinBytes = startResponseWithRoster(SignalResponseSchema.field.join.number, toBinary(JoinResponseSchema, join), roster, self);
  const expectedJoin = create(SignalResponseSchema, {
    message: { case: "join", value: { ...join, otherParticipants: decodedRoster(records, self) } },
  });
  const gotJoin = fromBinary(SignalResponseSchema, joinBytes);
  assert.ok(equals(SignalResponseSchema, gotJoin, expectedJoin));
  assert.deepEqual(toJson(SignalResponseSchema, gotJoin), toJson(SignalResponseSchema, expectedJoin));
  const others = gotJoin.message.case === "join" ? gotJoin.message.value.otherParticipants : [];
  assert.equal(others.length, records.length - 1 - 6 - 1, "hidden (6), self and the record without info are left out");
  assert.ok(others.some((p) => p.state === ParticipantState.DISCONNECTED) && others.some((p) => p.pqPublicKey.length === 1184));

  const reconnect = create(ReconnectResponseSchema, { room, participant: records[8]!.info, lastMessageId: 300n });
  const reconnectBytes = startResponseWithRoster(SignalResponseSchema.field.reconnect.number, toBinary(ReconnectResponseSchema, reconnect), roster, self);
  const expectedReconnect = create(SignalResponseSchema, {
    message: { case: "reconnect", value: { ...reconnect, otherParticipants: decodedRoster(records, self) } },
  });
  assert.ok(equals(SignalResponseSchema, fromBinary(SignalResponseSchema, reconnectBytes), expectedReconnect));
});

test("an empty roster gives the response as encoded; a record that does not parse fails loudly", () => {
  const join = create(JoinResponseSchema, { room: create(RoomSchema, { name: "r" }) });
  const bytes = startResponseWithRoster(1, toBinary(JoinResponseSchema, join), [], "PA_me");
  assert.deepEqual(bytes, toBinary(SignalResponseSchema, create(SignalResponseSchema, { message: { case: "join", value: join } })));
  const good = toBinary(StoredParticipantSchema, stored(1));
  for (const bad of [good.subarray(0, good.length - 3), Uint8Array.of(0x0a, 0x05, 0x0a), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)]) {
    assert.throws(() => startResponseWithRoster(1, new Uint8Array(0), [{ record: bad }], "PA_me"), /does not parse/);
  }
});
