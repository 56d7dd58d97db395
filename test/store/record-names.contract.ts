import assert from "node:assert/strict";
import { test } from "node:test";
import type { StoredParticipant } from "../../gen/volly/signaling/v1/internal_pb.js";
import type { Store } from "../../src/store/store.js";
import { participant, room } from "./contract-fixtures.js";

/**
 * Part of the `Store` contract (registered by `storeContract`): names come back exactly as they were stored,
 * whatever their first character, so that a record read back still matches the keys it is indexed under.
 * `current` is the test's fresh store, `join` a join that must succeed.
 */
export function recordNamesContract(current: () => Store, join: (p: StoredParticipant, max?: number) => Promise<unknown>): void {
  test("names that begin with U+FEFF read back as stored, and such a participant is removed when its time away is up", async () => {
    // Records are kept as protobuf: decoding them must not drop a leading U+FEFF (a TextDecoder's default),
    // or the record no longer matches the names it is indexed under, and the sweep never removes it.
    const s = current();
    const r = "\ufeffbom";
    const id = "\ufeffa";
    await s.createRoom(room(r), 10, 1);
    await join(participant(r, id, "PA_bom"));
    await join(participant(r, "a", "PA_plain"));
    assert.equal((await s.getRoom(r))?.name, r);
    assert.equal((await s.getParticipant(r, id))?.info?.identity, id);
    assert.deepEqual([(await s.getParticipantBySid("PA_bom"))?.room, (await s.getParticipantBySid("PA_bom"))?.info?.identity], [r, id]);
    assert.deepEqual((await s.listParticipants(r)).map((p) => p.info?.identity).sort(), [id, "a"].sort());
    assert.equal(await s.markAway(r, id, "PA_bom", 5000), true);
    const expired = await s.listExpiredAway(5000);
    assert.deepEqual(expired.map((p) => [p.room, p.info?.identity, p.info?.sid]), [[r, id, "PA_bom"]]);
    // The sweep removes each participant by the names listExpiredAway gave.
    const removed = await s.removeParticipant(expired[0]?.room ?? "", expired[0]?.info?.identity ?? "", "PA_bom", 6000, { awayExpiredBy: 5000 });
    assert.equal(removed?.info?.sid, "PA_bom");
    assert.equal(await s.getParticipant(r, id), undefined);
    assert.equal((await s.getParticipant(r, "a"))?.info?.sid, "PA_plain");
    assert.deepEqual(await s.listExpiredAway(9999), []);
  });
}
