import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, equals } from "@bufbuild/protobuf";
import { StoredParticipantSchema, StoredSessionSchema } from "../../gen/volly/signaling/v1/internal_pb.js";
import { ParticipantInfoSchema, ParticipantPermissionSchema } from "../../gen/volly/signaling/v1/models_pb.js";
import { newConnectionId, newSid } from "../../src/room/ids.js";
import { pack, unpack } from "../../src/store/compact-records.js";

describe("packed records", () => {
  test("a participant survives packing field for field: unicode, every byte value, 64-bit numbers, maps", () => {
    const participant = create(StoredParticipantSchema, {
      room: "räum-✓",
      nodeId: "node-a",
      awayUntil: 2n ** 62n + 7n,
      info: create(ParticipantInfoSchema, {
        sid: "PA_abc",
        identity: "ålice 👩‍💻",
        metadata: "\u0000\u00ff{\"x\":1}",
        joinedAt: 1_764_000_000_000n,
        attributes: { role: "host", "ключ": "значение" },
        permission: create(ParticipantPermissionSchema, { canPublish: true, canSubscribe: true, hidden: false }),
        pqPublicKey: Uint8Array.from({ length: 256 }, (_, i) => i),
        pqAlgorithm: "ML-KEM-768",
      }),
    });
    const packed = pack(StoredParticipantSchema, participant);
    assert.equal(typeof packed, "string");
    const back = unpack(StoredParticipantSchema, packed);
    assert.ok(equals(StoredParticipantSchema, back, participant));
    assert.notEqual(back, participant);
  });

  test("every unpack is a fresh copy: changing one changes neither the packed record nor the next copy", () => {
    const packed = pack(StoredSessionSchema, create(StoredSessionSchema, { sessionId: "s1", nodeId: "n1", rekeys: 3 }));
    const a = unpack(StoredSessionSchema, packed);
    a.rekeys = 99;
    a.nodeId = "elsewhere";
    const b = unpack(StoredSessionSchema, packed);
    assert.equal(b.rekeys, 3);
    assert.equal(b.nodeId, "n1");
  });

  test("an empty record packs to an empty string and back", () => {
    const packed = pack(StoredSessionSchema, create(StoredSessionSchema));
    assert.equal(packed, "");
    assert.ok(equals(StoredSessionSchema, unpack(StoredSessionSchema, packed), create(StoredSessionSchema)));
  });
});

describe("random ids", () => {
  test("participant, room and connection ids keep their formats and do not repeat", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const pa = newSid("PA_");
      const rm = newSid("RM_");
      const co = newConnectionId(pa);
      assert.match(pa, /^PA_[A-Za-z0-9]{12}$/);
      assert.match(rm, /^RM_[A-Za-z0-9]{12}$/);
      assert.match(co, /^PA_[A-Za-z0-9]{12}\.[0-9a-f]{12}$/);
      assert.ok(co.startsWith(`${pa}.`), "a connection id starts with its participant's sid");
      for (const id of [pa, rm, co]) {
        assert.ok(!seen.has(id), `repeated id ${id}`);
        seen.add(id);
      }
    }
  });
});
