// A participant removed by the backend (RemoveParticipant, DeleteRoom) is offline for `discover` by the time
// anyone is told: the room's DISCONNECTED, the victim's `leave`, or the RPC's answer. Its own node marks its
// connection offline only once that connection has ended, which may be a bus hop and a store write later;
// here that mark is held until discover has answered, so only the removal's own mark can make it offline.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { DisconnectReason, ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { RoomService } from "../../gen/volly/signaling/v1/room_service_pb.js";
import type { Store } from "../../src/store/store.js";
import { TestClient } from "../helpers/signal-client.js";
import { STORES, storeSkip, useServerOn } from "../helpers/server-on-store.js";
import { makeToken } from "../helpers/tokens.js";

/** Holds every `setOffline` of the store until the returned release is called. */
function holdOfflineMarks(store: Store): () => void {
  const setOffline = store.setOffline.bind(store);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  store.setOffline = async (...args) => {
    await released;
    return setOffline(...args);
  };
  return () => {
    release();
    store.setOffline = setOffline;
  };
}

for (const backend of STORES) {
  describe(`a participant removed by the backend is offline once anyone is told (${backend} store)`, { skip: await storeSkip(backend) }, () => {
    const srv = useServerOn(backend, "presence-on-removal", { VOLLY_PQ_ENABLED: "false" });
    const api = () => createClient(RoomService, createConnectTransport({ baseUrl: srv.apiUrl, httpVersion: "1.1" }));
    const admin = (room: string) => makeToken({ identity: "", room, grant: { roomJoin: false, roomCreate: true, roomList: true, roomAdmin: true } });
    const join = (identity: string, room: string) => TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: `${identity}-${backend}`, room, pq: false });
    const online = async (asker: TestClient, identities: string[]) => {
      const rid = asker.send({ case: "discover", value: { identities } });
      return (await asker.waitFor("discover", (_v, r) => r.requestId === rid)).users.map((u) => [u.identity, u.online]);
    };

    test("RemoveParticipant: offline when the room hears it, and when the RPC answers", async () => {
      const room = `por-remove-${backend}`;
      const watcher = await join("por-watcher", room);
      const victim = await join("por-victim", room);
      const victimId = `por-victim-${backend}`;
      assert.deepEqual(await online(watcher, [victimId]), [[victimId, true]]);
      const release = holdOfflineMarks(srv.server.services.store);
      try {
        const told = watcher.waitFor("participantUpdate", (u) => u.participants[0]?.identity === victimId && u.participants[0].state === ParticipantState.DISCONNECTED);
        await api().removeParticipant({ room, identity: victimId }, { headers: { authorization: `Bearer ${await admin(room)}` } });
        assert.deepEqual(await online(watcher, [victimId]), [[victimId, false]], "when the RPC answered");
        assert.equal((await told).participants[0]?.disconnectReason, DisconnectReason.PARTICIPANT_REMOVED);
        assert.deepEqual(await online(watcher, [victimId]), [[victimId, false]], "when the room was told");
      } finally {
        release();
      }
      assert.equal((await victim.waitFor("leave")).reason, DisconnectReason.PARTICIPANT_REMOVED);
      await watcher.leave();
    });

    test("DeleteRoom: its participants are offline when the RPC answers, for anyone asking from elsewhere", async () => {
      const room = `por-delete-${backend}`;
      const members = [await join("por-a", room), await join("por-b", room)];
      const ids = [`por-a-${backend}`, `por-b-${backend}`];
      const elsewhere = await join("por-elsewhere", `${room}-other`);
      assert.deepEqual(await online(elsewhere, ids), ids.map((id) => [id, true]));
      const release = holdOfflineMarks(srv.server.services.store);
      try {
        await api().deleteRoom({ room }, { headers: { authorization: `Bearer ${await admin(room)}` } });
        assert.deepEqual(await online(elsewhere, ids), ids.map((id) => [id, false]));
      } finally {
        release();
      }
      for (const m of members) assert.equal((await m.waitFor("leave")).reason, DisconnectReason.ROOM_DELETED);
      await elsewhere.leave();
    });
  });
}
