// A room's `num_participants` counts its visible participants only, as LiveKit's does: hidden ones
// (recorders, agents, moderators) are already left out of rosters and updates, and a count that included
// them would tell every joiner that someone unseen is there. End to end on both stores.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TestClient } from "../helpers/signal-client.js";
import { STORES, storeSkip, useServerOn } from "../helpers/server-on-store.js";
import { makeToken } from "../helpers/tokens.js";

for (const backend of STORES) {
  describe(`num_participants leaves hidden participants out (${backend} store)`, { skip: await storeSkip(backend) }, () => {
    const srv = useServerOn(backend, "hidden-count", { VOLLY_PQ_ENABLED: "false" });

    test("a joiner's join.room and ListRooms count the visible participants, the joiner included", async () => {
      const room = `hc-${backend}`;
      const connect = (identity: string, hidden = false) =>
        TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity, room, pq: false, token: { grant: { hidden } } });
      const recorder = await connect("hc-recorder", true);
      const one = await connect("hc-one");
      const two = await connect("hc-two");
      const joiner = await connect("hc-joiner");
      assert.deepEqual(joiner.join?.otherParticipants.map((p) => p.identity).sort(), ["hc-one", "hc-two"]);
      assert.equal(joiner.join?.room?.numParticipants, 3, "hc-one, hc-two and the joiner; not the recorder");

      const admin = await makeToken({ identity: "", room, grant: { roomJoin: false, roomList: true } });
      const listed = await fetch(`${srv.apiUrl}/twirp/livekit.RoomService/ListRooms`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${admin}` },
        body: JSON.stringify({ names: [room] }),
      });
      assert.equal(listed.status, 200);
      const { rooms } = (await listed.json()) as { rooms: Array<{ num_participants: number }> };
      assert.deepEqual(rooms.map((r) => r.num_participants), [3]);

      // A second hidden participant changes nothing; the hidden one's own join counts the others the same way.
      const agent = await connect("hc-agent", true);
      assert.equal(agent.join?.room?.numParticipants, 3);
      for (const c of [agent, joiner, two, one, recorder]) await c.leave();
    });
  });
}
