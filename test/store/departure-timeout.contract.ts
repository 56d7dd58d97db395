import assert from "node:assert/strict";
import { test } from "node:test";
import type { Store } from "../../src/store/store.js";
import { participant, room } from "./contract-fixtures.js";

/**
 * Part of the `Store` contract (registered by `storeContract`; `current` is the test's fresh store): a
 * room's departure timeout is kept with it and times it once its last participant left; a room nobody
 * joined, and every room whose departure timeout is 0, keeps its empty timeout (LiveKit's two timeouts,
 * docs/api.md).
 */
export function departureTimeoutContract(current: () => Store): void {
  /** `identity` joins `name` and leaves it at `leftAt` (ms), leaving it empty. */
  const joinAndLeave = async (name: string, identity: string, leftAt: number) => {
    const s = current();
    const sid = `PA_${name}_${identity}`;
    assert.ok((await s.joinParticipant(participant(name, identity, sid), 10)).ok);
    assert.ok(await s.removeParticipant(name, identity, sid, leftAt));
  };

  test("the departure timeout is stored and returned with the room, and a patch changes it", async () => {
    const s = current();
    const created = await s.createRoom(room("dt-kept", { emptyTimeout: 30, departureTimeout: 2 }), 10, 1000);
    assert.deepEqual([created.room.emptyTimeout, created.room.departureTimeout], [30, 2]);
    assert.equal((await s.getRoom("dt-kept"))?.departureTimeout, 2);
    assert.deepEqual((await s.listRooms(["dt-kept"])).map((r) => r.departureTimeout), [2]);
    assert.equal((await s.joinParticipant(participant("dt-kept", "a", "PA_dt_a"), 10)).ok && (await s.getRoom("dt-kept"))?.departureTimeout, 2);
    assert.equal((await s.updateRoom("dt-kept", { departureTimeout: 5 }))?.departureTimeout, 5);
    assert.equal((await s.updateRoom("dt-kept", { metadata: "m" }))?.departureTimeout, 5, "a patch without it keeps it");
  });

  test("after the last participant left, the departure timeout times the room", async () => {
    const s = current();
    await s.createRoom(room("dt-left", { emptyTimeout: 30, departureTimeout: 2 }), 10, 1000);
    await joinAndLeave("dt-left", "a", 5000);
    assert.deepEqual(await s.deleteExpiredEmptyRooms(6999), []);
    assert.deepEqual(await s.deleteExpiredEmptyRooms(7000), ["dt-left"]);
    assert.equal(await s.getRoom("dt-left"), undefined);
  });

  test("a room nobody joined keeps its empty timeout, whatever its departure timeout", async () => {
    const s = current();
    await s.createRoom(room("dt-unjoined", { emptyTimeout: 30, departureTimeout: 2 }), 10, 1000);
    assert.deepEqual(await s.deleteExpiredEmptyRooms(1000 + 2000), []);
    assert.deepEqual(await s.deleteExpiredEmptyRooms(1000 + 29_999), []);
    assert.deepEqual(await s.deleteExpiredEmptyRooms(1000 + 30_000), ["dt-unjoined"]);
  });

  test("with no departure timeout (0), the empty timeout applies after the last participant left, as before", async () => {
    const s = current();
    await s.createRoom(room("dt-zero", { emptyTimeout: 30 }), 10, 1000);
    await joinAndLeave("dt-zero", "a", 5000);
    assert.deepEqual(await s.deleteExpiredEmptyRooms(5000 + 29_999), []);
    assert.deepEqual(await s.deleteExpiredEmptyRooms(5000 + 30_000), ["dt-zero"]);
  });

  test("a departure timeout set on a room everyone left times it from when it became empty", async () => {
    const s = current();
    await s.createRoom(room("dt-set-later", { emptyTimeout: 30 }), 10, 1000);
    await joinAndLeave("dt-set-later", "a", 5000);
    await s.updateRoom("dt-set-later", { departureTimeout: 1 });
    assert.deepEqual(await s.deleteExpiredEmptyRooms(5999), []);
    assert.deepEqual(await s.deleteExpiredEmptyRooms(6000), ["dt-set-later"]);
  });

  test("someone joining again stops the clock; the next departure starts it again", async () => {
    const s = current();
    await s.createRoom(room("dt-again", { emptyTimeout: 30, departureTimeout: 2 }), 10, 1000);
    await joinAndLeave("dt-again", "a", 5000);
    await joinAndLeave("dt-again", "b", 9000);
    assert.deepEqual(await s.deleteExpiredEmptyRooms(10_999), []);
    assert.deepEqual(await s.deleteExpiredEmptyRooms(11_000), ["dt-again"]);
  });
}
