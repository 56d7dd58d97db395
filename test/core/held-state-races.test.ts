// The node re-registers what it holds after the store lost it (an empty Redis restart, the node taken for
// dead): each joined connection's participant is restored, announced, and marked online. A connection that
// leaves or drops while its restore is being written has written its departure, offline mark included; the
// re-registration must not announce it or mark it online after that (nothing would ever correct it).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { HeldState } from "../../src/cluster/held-state.js";
import { SessionLedger } from "../../src/cluster/session-ledger.js";
import { createLogger } from "../../src/logger.js";
import { TestClient } from "../helpers/signal-client.js";
import { STORES, storeSkip, useServerOn } from "../helpers/server-on-store.js";

for (const backend of STORES) {
  describe(`a re-registration racing a departure (${backend} store)`, { skip: await storeSkip(backend) }, () => {
    const srv = useServerOn(backend, "held-state-races", { VOLLY_PQ_ENABLED: "false" });

    for (const how of ["leave", "drop"] as const) {
      test(`a participant that ${how === "leave" ? "leaves" : "drops"} while its restore is written stays offline`, async () => {
        const { services } = srv.server;
        const room = `hsr-${how}-${backend}`;
        const leaverId = `hsr-leaver-${how}-${backend}`;
        const watcher = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: `hsr-watcher-${how}-${backend}`, room, pq: false });
        const leaver = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: leaverId, room, pq: false });
        const sid = leaver.join?.participant?.sid ?? "";
        await watcher.waitFor("participantUpdate", (u) => u.participants.some((p) => p.sid === sid && p.state === ParticipantState.JOINED));
        watcher.stash.splice(0);
        const online = async () => {
          const rid = watcher.send({ case: "discover", value: { identities: [leaverId] } });
          return (await watcher.waitFor("discover", (_v, r) => r.requestId === rid)).users[0]?.online;
        };
        // Holds the leaver's restore answer (the write itself is done) until it has gone.
        const { store } = services;
        const restore = store.restoreParticipant.bind(store);
        let written!: () => void;
        const restoreWritten = new Promise<void>((resolve) => (written = resolve));
        let release!: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        store.restoreParticipant = async (...args) => {
          const outcome = await restore(...args);
          if (args[1].info?.sid === sid) {
            written();
            await released;
          }
          return outcome;
        };
        try {
          const sync = new HeldState(services, services.rooms, new SessionLedger(), createLogger("silent")).sync(true, services.clock.now());
          await restoreWritten;
          if (how === "leave") {
            const told = watcher.waitFor("participantUpdate", (u) => u.participants[0]?.identity === leaverId && u.participants[0].state === ParticipantState.DISCONNECTED);
            await leaver.leave();
            await told;
          } else {
            leaver.channel.kill();
            await leaver.channel.closed;
            while (services.local.get(sid) !== undefined || services.local.isDeparting(sid)) await new Promise((resolve) => setTimeout(resolve, 10));
          }
          assert.equal(await online(), false, "offline once gone");
          release();
          await sync;
          assert.equal(await online(), false, "still offline after the re-registration");
        } finally {
          release();
          store.restoreParticipant = restore;
        }
        const rejoined = watcher.stash.concat().some((r) => r.message.case === "participantUpdate" && r.message.value.participants.some((p) => p.sid === sid && p.state === ParticipantState.JOINED));
        assert.equal(rejoined, false, "the room was not told it joined again");
        await watcher.leave();
      });
    }
  });
}
