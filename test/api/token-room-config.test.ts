// A token's `roomConfig` claim (livekit-server-sdk's `AccessToken.roomConfig`): the join that creates the room
// creates it as the claim says (timeouts, limit, metadata), as LiveKit does; a room that exists is not changed;
// a claim of the wrong shape makes the token invalid. Tokens signed by the real AccessToken, participants are
// real SDK clients; on the memory store and Redis.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AccessToken, RoomConfiguration, RoomServiceClient } from "livekit-server-sdk";
import { STORES, storeSkip, useServerOn } from "../helpers/server-on-store.js";
import { makeToken } from "../helpers/tokens.js";
import { DEV_KEY, DEV_SECRET, nodeClient } from "../helpers/werift-sdk.js";

/** A livekit-server-sdk token for `identity` in `room`, with `roomConfig` when given. */
async function livekitToken(identity: string, room: string, roomConfig?: RoomConfiguration): Promise<string> {
  const at = new AccessToken(DEV_KEY, DEV_SECRET, { identity, ttl: "5m" });
  at.addGrant({ roomJoin: true, room });
  if (roomConfig) at.roomConfig = roomConfig;
  return at.toJwt();
}

for (const store of STORES) {
  describe(`token roomConfig (${store} store)`, { skip: await storeSkip(store) }, () => {
    const srv = useServerOn(store, "roomconfig");
    const api = () => new RoomServiceClient(srv.apiUrl, DEV_KEY, DEV_SECRET);
    const join = async (identity: string, room: string, roomConfig?: RoomConfiguration) => {
      const { client } = await nodeClient(srv.wsUrl, identity, room, { token: await livekitToken(identity, room, roomConfig) });
      return client;
    };

    test("the join that creates the room creates it from the claim; its limit holds; a later claim changes nothing", async () => {
      const room = "rc-created";
      const config = new RoomConfiguration({
        name: room, maxParticipants: 1, emptyTimeout: 7, departureTimeout: 3, metadata: "from-token",
        // Media and agent settings: accepted and ignored.
        minPlayoutDelay: 100, maxPlayoutDelay: 200, syncStreams: true,
      });
      const first = await join("rc-a", room, config);
      const info = await first.connect();
      assert.deepEqual(
        [info.room.name, info.room.metadata, info.room.maxParticipants, info.room.emptyTimeout, info.room.departureTimeout],
        [room, "from-token", 1, 7, 3],
        "join.room",
      );
      const [listed] = await api().listRooms([room]);
      assert.deepEqual([listed?.metadata, listed?.maxParticipants, listed?.emptyTimeout, listed?.departureTimeout], ["from-token", 1, 7, 3]);

      const second = await join("rc-b", room, config);
      await assert.rejects(second.connect(), /room is full/, "maxParticipants 1 from the token");
      const other = new RoomConfiguration({ maxParticipants: 5, emptyTimeout: 60, metadata: "other" });
      const third = await join("rc-c", room, other);
      await assert.rejects(third.connect(), /room is full/, "the existing room keeps its limit");
      const [after] = await api().listRooms([room]);
      assert.deepEqual([after?.metadata, after?.maxParticipants, after?.emptyTimeout], ["from-token", 1, 7], "unchanged by a later token");
      await first.disconnect();
      await api().deleteRoom(room);
    });

    test("without a claim, or with zeros, the room gets the server's defaults", async () => {
      const plain = await join("rc-d", "rc-defaults");
      const info = await plain.connect();
      assert.deepEqual([info.room.metadata, info.room.maxParticipants, info.room.emptyTimeout, info.room.departureTimeout], ["", 0, 300, 0]);
      const zeros = await join("rc-e", "rc-zeros", new RoomConfiguration({}));
      const zeroInfo = await zeros.connect();
      assert.deepEqual([zeroInfo.room.maxParticipants, zeroInfo.room.emptyTimeout, zeroInfo.room.departureTimeout], [0, 300, 0]);
      await plain.disconnect();
      await zeros.disconnect();
    });

    test("a roomConfig claim of the wrong shape makes the token invalid, saying which field", async () => {
      const cases: Array<[unknown, RegExp]> = [
        [{ maxParticipants: "many" }, /roomConfig\.maxParticipants must be an integer/],
        [{ emptyTimeout: -1 }, /roomConfig\.emptyTimeout must be an integer/],
        [{ departure_timeout: 1.5 }, /roomConfig\.departureTimeout must be an integer/],
        [{ metadata: 42 }, /roomConfig\.metadata must be a string/],
        ["big", /claim roomConfig must be an object/],
      ];
      for (const [roomConfig, message] of cases) {
        const token = await makeToken({ identity: "rc-bad", room: "rc-bad", claims: { roomConfig } });
        const res = await fetch(`${srv.httpUrl}/rtc/validate?access_token=${encodeURIComponent(token)}`);
        const text = await res.text();
        assert.equal(res.status, 401, `${JSON.stringify(roomConfig)}: ${text}`);
        assert.match(text, message);
      }
      assert.deepEqual(await api().listRooms(["rc-bad"]), [], "no room was made");
    });
  });
}
