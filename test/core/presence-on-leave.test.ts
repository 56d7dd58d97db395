// Whoever is told a participant left and asks `discover` at once must find it offline, and it must stay
// offline. The session refreshes its presence every 10 s (and, before this was fixed, on its first tick
// after the join), so a refresh due while a `leave` is written could land after the offline mark: the
// participant then read as online for the presence's whole 30 s lifetime. End to end on both stores.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { monotonicMs } from "../../src/monotonic-time.js";
import type { SignalSession } from "../../src/session/signal-session.js";
import { TestClient } from "../helpers/signal-client.js";
import { STORES, storeSkip, useServerOn } from "../helpers/server-on-store.js";

for (const backend of STORES) {
  describe(`a participant that leaves is offline once its room is told (${backend} store)`, { skip: await storeSkip(backend) }, () => {
    const srv = useServerOn(backend, "presence-on-leave", { VOLLY_PQ_ENABLED: "false" });

    test("a presence refresh falling due while its leave is written does not bring it back online", async () => {
      const room = `pl-${backend}`;
      const leaverId = `pl-leaver-${backend}`;
      const watcher = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: `pl-watcher-${backend}`, room, pq: false });
      const leaver = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: leaverId, room, pq: false });
      const online = async () => {
        const rid = watcher.send({ case: "discover", value: { identities: [leaverId] } });
        return (await watcher.waitFor("discover", (_v, r) => r.requestId === rid)).users.map((u) => u.online);
      };
      assert.deepEqual(await online(), [true]);

      const { services } = srv.server;
      const session = services.local.get(leaver.join?.participant?.sid ?? "") as SignalSession | undefined;
      assert.ok(session, "the leaver's session is held by the node");
      // Holds the leave right after its offline mark is written, and makes the session's refresh due then.
      // Any later offline mark (the connection's own clean-up) waits until discover has answered.
      const store = services.store;
      const setOffline = store.setOffline.bind(store);
      let marks = 0;
      let marked!: () => void;
      const offlineWritten = new Promise<void>((resolve) => (marked = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let answered!: () => void;
      const discoverAnswered = new Promise<void>((resolve) => (answered = resolve));
      store.setOffline = async (...args) => {
        if (++marks > 1) await discoverAnswered;
        await setOffline(...args);
        marked();
        await released;
      };
      try {
        const told = watcher.waitFor("participantUpdate", (u) => u.participants[0]?.identity === leaverId && u.participants[0].state === ParticipantState.DISCONNECTED);
        leaver.send({ case: "leave", value: {} });
        await offlineWritten;
        session.tick(monotonicMs() + 11_000);
        release();
        await told;
        assert.deepEqual(await online(), [false], "offline once the room was told it left");
      } finally {
        answered();
        store.setOffline = setOffline;
      }
      await watcher.leave();
    });
  });
}
