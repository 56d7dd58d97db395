// `discover` answers for any identity, from any room: a hidden participant (a recorder, an agent, a
// moderator) must never show up there, or anyone could find it. It has no presence at all: not when it
// joins, not on the session's refresh, not when its node re-registers what it holds, not when it leaves
// (which would record it as last seen). End to end on both stores.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HeldState } from "../../src/cluster/held-state.js";
import { SessionLedger } from "../../src/cluster/session-ledger.js";
import { createLogger } from "../../src/logger.js";
import { monotonicMs } from "../../src/monotonic-time.js";
import type { SignalSession } from "../../src/session/signal-session.js";
import { eventually } from "../helpers/polling.js";
import { TestClient } from "../helpers/signal-client.js";
import { STORES, storeSkip, useServerOn } from "../helpers/server-on-store.js";

for (const backend of STORES) {
  describe(`discover never reports a hidden participant (${backend} store)`, { skip: await storeSkip(backend) }, () => {
    // PQ off: no session records, so the re-registration below (with a ledger of its own) ends none.
    const srv = useServerOn(backend, "hidden-presence", { VOLLY_PQ_ENABLED: "false" });

    test("a connected hidden identity is offline and never seen, from its room and another; a visible one is online", async () => {
      const room = `hp-${backend}`;
      const hiddenId = `hp-hidden-${backend}`;
      const visibleId = `hp-visible-${backend}`;
      const hidden = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: hiddenId, room, pq: false, token: { grant: { hidden: true } } });
      const visible = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: visibleId, room, pq: false });
      const elsewhere = await TestClient.connect({ kind: "ws-json", port: srv.port, identity: `hp-asker-${backend}`, room: `${room}-other`, pq: false });
      const discover = async (asker: TestClient) => {
        const rid = asker.send({ case: "discover", value: { identities: [hiddenId, visibleId] } });
        const answer = await asker.waitFor("discover", (_v, r) => r.requestId === rid);
        return answer.users.map((u) => [u.identity, u.online, u.lastSeen > 0n]);
      };
      const expected = [[hiddenId, false, false], [visibleId, true, true]];
      assert.deepEqual(await discover(elsewhere), expected, "after the join, from another room");
      assert.deepEqual(await discover(visible), expected, "after the join, from its own room");

      // The session's presence refresh (every 10 s) made due now: it must skip the hidden participant.
      const { services } = srv.server;
      const session = services.local.get(hidden.join?.participant?.sid ?? "") as SignalSession | undefined;
      assert.ok(session, "the hidden participant's session is held by the node");
      session.tick(monotonicMs() + 11_000);
      assert.deepEqual(await discover(elsewhere), expected, "after the session's refresh");

      // The node re-registers what it holds, as after Redis lost its data: presence too, but not for a hidden one.
      await new HeldState(services, services.rooms, new SessionLedger(), createLogger("silent")).sync(true, Date.now());
      assert.deepEqual(await discover(elsewhere), expected, "after a re-registration");

      await hidden.leave();
      await eventually(async () => (await services.store.getParticipant(room, hiddenId)) === undefined, "the hidden participant to be gone");
      assert.deepEqual(await discover(elsewhere), expected, "after it left: still never seen");
      for (const c of [visible, elsewhere]) await c.leave();
    });

    test("a hidden participant refused at its join (room full) is not recorded as seen either", async () => {
      const room = `hp-full-${backend}`;
      const hiddenId = `hp-refused-${backend}`;
      const { services } = srv.server;
      await services.store.createRoom(services.rooms.newRoom(room, { maxParticipants: 1 }), 100, Date.now());
      const occupant = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: `hp-occupant-${backend}`, room, pq: false });
      const refused = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: hiddenId, room, pq: false, token: { grant: { hidden: true } }, awaitJoin: false });
      assert.equal((await refused.waitFor("error")).code, "resource_exhausted");
      await refused.channel.closed;
      const rid = occupant.send({ case: "discover", value: { identities: [hiddenId] } });
      const answer = await occupant.waitFor("discover", (_v, r) => r.requestId === rid);
      assert.deepEqual(answer.users.map((u) => [u.identity, u.online, u.lastSeen]), [[hiddenId, false, 0n]]);
      await occupant.leave();
    });
  });
}
