// CreateRoom's departure_timeout (LiveKit's): kept with the room, answered by CreateRoom and ListRooms, and
// applied once the last participant left; a room nobody joined, or one without it, keeps its empty timeout.
// The real npm livekit-server-sdk RoomServiceClient and real SDK participants, on the memory store and Redis.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RoomServiceClient } from "livekit-server-sdk";
import { STORES, storeSkip, useServerOn } from "../helpers/server-on-store.js";
import { DEV_KEY, DEV_SECRET, eventually, nodeClient } from "../helpers/werift-sdk.js";

for (const store of STORES) {
  describe(`CreateRoom departure_timeout (${store} store)`, { skip: await storeSkip(store) }, () => {
    const srv = useServerOn(store, "departure");
    const api = () => new RoomServiceClient(srv.apiUrl, DEV_KEY, DEV_SECRET);
    const listed = async (name: string) => (await api().listRooms([name])).length === 1;

    /** A participant joins `room` and leaves it (its `leave` removes it at once). */
    const visit = async (room: string, identity: string) => {
      const { client } = await nodeClient(srv.wsUrl, identity, room);
      await client.connect();
      await client.disconnect();
    };

    test("CreateRoom and ListRooms answer the departure timeout; CreateRoom on the room changes it", async () => {
      const created = await api().createRoom({ name: "dt-answer", emptyTimeout: 30, departureTimeout: 2 });
      assert.deepEqual([created.emptyTimeout, created.departureTimeout], [30, 2]);
      assert.deepEqual((await api().listRooms(["dt-answer"])).map((r) => [r.emptyTimeout, r.departureTimeout]), [[30, 2]]);
      const again = await api().createRoom({ name: "dt-answer", departureTimeout: 4 });
      assert.deepEqual([again.emptyTimeout, again.departureTimeout], [30, 4]);
      const unset = await api().createRoom({ name: "dt-answer", metadata: "m" });
      assert.equal(unset.departureTimeout, 4, "a CreateRoom without it keeps it");
      await api().deleteRoom("dt-answer");
    });

    test("the room closes its departure timeout after the last participant left, not its empty timeout", async () => {
      await api().createRoom({ name: "dt-short", emptyTimeout: 60, departureTimeout: 1 });
      await api().createRoom({ name: "dt-none", emptyTimeout: 60 });
      await visit("dt-short", "dt-a");
      await visit("dt-none", "dt-b");
      const left = Date.now();
      await eventually(async () => !(await listed("dt-short")), "dt-short closed", 8000);
      assert.ok(Date.now() - left >= 900, "not before its departure timeout");
      assert.ok(await listed("dt-none"), "without a departure timeout the empty timeout (60 s) still applies");
      await api().deleteRoom("dt-none");
    });

    test("a room nobody joined keeps its empty timeout, whatever its departure timeout", async () => {
      await api().createRoom({ name: "dt-unjoined", emptyTimeout: 3, departureTimeout: 1 });
      await new Promise((resolve) => setTimeout(resolve, 2000));
      assert.ok(await listed("dt-unjoined"), "still open 2 s on (departure timeout 1 s, empty timeout 3 s)");
      await eventually(async () => !(await listed("dt-unjoined")), "dt-unjoined closed", 6000);
    });
  });
}
