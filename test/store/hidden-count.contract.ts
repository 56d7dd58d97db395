import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import type { StoredParticipant } from "../../gen/volly/signaling/v1/internal_pb.js";
import { ParticipantPermissionSchema } from "../../gen/volly/signaling/v1/models_pb.js";
import type { Store } from "../../src/store/store.js";
import { participant, room } from "./contract-fixtures.js";

/** A participant record whose token said `hidden`. */
function hidden(roomName: string, identity: string, sid: string): StoredParticipant {
  const p = participant(roomName, identity, sid);
  if (p.info) p.info.permission = create(ParticipantPermissionSchema, { hidden: true });
  return p;
}

/**
 * Part of the `Store` contract (registered by `storeContract`): a room's `num_participants` counts only its
 * visible participants, as LiveKit's does, while its limit counts everyone. A hidden participant counted
 * would tell every joiner that someone unseen is there. `current` is the test's fresh store, `join` a join
 * that must succeed.
 */
export function hiddenCountContract(current: () => Store, join: (p: StoredParticipant, max?: number) => Promise<{ room: { numParticipants: number } }>): void {
  const count = async (name: string) => (await current().getRoom(name))?.numParticipants;

  test("num_participants leaves hidden participants out everywhere a room is returned; the limit counts them", async () => {
    const s = current();
    await s.createRoom(room("hc", { maxParticipants: 3 }), 10, 1);
    assert.equal((await join(hidden("hc", "rec", "PA_rec"))).room.numParticipants, 0, "the join's own room");
    assert.equal((await join(participant("hc", "a", "PA_a"))).room.numParticipants, 1);
    assert.equal((await join(participant("hc", "b", "PA_b"))).room.numParticipants, 2);
    assert.equal(await count("hc"), 2);
    assert.deepEqual((await s.listRooms()).map((r) => [r.name, r.numParticipants]), [["hc", 2]]);
    assert.equal((await s.updateRoom("hc", { metadata: "m" }))?.numParticipants, 2);
    assert.equal((await s.createRoom(room("hc"), 10, 1)).room.numParticipants, 2, "createRoom answering for an existing room");
    assert.deepEqual(await s.joinParticipant(participant("hc", "c", "PA_c"), 100), { ok: false, reason: "room_full" }, "3 of 3, one hidden");
  });

  test("a replacement with the same identity counts the newcomer: visible by hidden and hidden by visible", async () => {
    const s = current();
    await s.createRoom(room("hr"), 10, 1);
    await join(participant("hr", "a", "PA_a1"));
    await join(participant("hr", "b", "PA_b1"));
    assert.equal((await join(hidden("hr", "a", "PA_a2"))).room.numParticipants, 1, "a now hidden");
    assert.equal(await count("hr"), 1);
    assert.equal((await join(participant("hr", "a", "PA_a3"))).room.numParticipants, 2, "a visible again");
    assert.equal((await join(hidden("hr", "b", "PA_b2"))).room.numParticipants, 1);
    assert.equal((await join(hidden("hr", "b", "PA_b3"))).room.numParticipants, 1, "hidden by hidden");
    assert.equal(await count("hr"), 1);
    await s.updateParticipant(hidden("hr", "b", "PA_b3"));
    assert.equal(await count("hr"), 1, "an update keeps the count");
  });

  test("a removed hidden participant leaves nothing behind that would hide the identity's next participant", async () => {
    const s = current();
    await s.createRoom(room("hx"), 10, 1);
    await join(hidden("hx", "rec", "PA_rec1"));
    await join(participant("hx", "a", "PA_a"));
    assert.equal(await s.removeParticipant("hx", "rec", "PA_other", 2), undefined, "another sid removes nothing");
    assert.equal(await count("hx"), 1);
    assert.ok(await s.removeParticipant("hx", "rec", "PA_rec1", 2));
    assert.equal(await count("hx"), 1);
    assert.equal((await join(participant("hx", "rec", "PA_rec2"))).room.numParticipants, 2, "the same identity, now visible");
    assert.ok(await s.removeParticipant("hx", "a", "PA_a", 3));
    assert.ok(await s.removeParticipant("hx", "rec", "PA_rec2", 3));
    assert.equal(await count("hx"), 0);
    // A deleted room takes its hidden participants with it: a new room of the same name starts clean.
    await join(hidden("hx", "rec", "PA_rec3"));
    await s.deleteRoom("hx");
    await s.createRoom(room("hx"), 10, 4);
    assert.equal((await join(participant("hx", "b", "PA_b"))).room.numParticipants, 1);
  });

  test("a restored participant counts as it was: hidden ones not at all", async () => {
    const s = current();
    const r = room("hs");
    await s.createRoom(r, 10, 1);
    const rec = hidden("hs", "rec", "PA_rec");
    const a = participant("hs", "a", "PA_a");
    await join(rec);
    await join(a);
    await s.deleteRoom("hs");
    assert.equal(await s.restoreParticipant(r, rec, 1n, true), "restored");
    assert.equal(await count("hs"), 0);
    assert.equal(await s.restoreParticipant(r, a, 1n, true), "restored");
    assert.equal(await count("hs"), 1);
    assert.equal(await s.restoreParticipant(r, rec, 1n, false), "kept");
    assert.equal(await s.restoreParticipant(r, a, 1n, false), "kept");
    assert.equal(await count("hs"), 1, "re-asserting changes nothing");
    assert.ok(await s.removeParticipant("hs", "rec", "PA_rec", 2));
    assert.equal((await join(participant("hs", "rec", "PA_rec2"))).room.numParticipants, 2);
  });
}
