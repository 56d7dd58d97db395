// A connection that closes is removed from the node's list at once, and its departure (kept away for a
// resume) is written to the store after. The node's periodic reconciliation could read the store in between:
// the participant was still listed here, present, with no connection, so it was taken for an orphan, marked
// away a second time and logged as "participant without a connection here counts as dropped", a warning
// meant for recovery after store trouble, in a healthy cluster (seen once in a 20-minute soak). Here the
// departure's write is held until the reconciliation has run.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pino } from "pino";
import { HeldState } from "../../src/cluster/held-state.js";
import { SessionLedger } from "../../src/cluster/session-ledger.js";
import { eventually } from "../helpers/polling.js";
import { STORES, storeSkip, useServerOn } from "../helpers/server-on-store.js";
import { TestClient } from "../helpers/signal-client.js";

for (const backend of STORES) {
  describe(`a departure still being written (${backend} store)`, { skip: await storeSkip(backend) }, () => {
    // PQ off: no session records, so the reconciliation below (with a ledger of its own) ends none.
    const srv = useServerOn(backend, "departure-in-flight", { VOLLY_PQ_ENABLED: "false" });

    test("is not taken for an orphan by a reconciliation meanwhile", async () => {
      const { services } = srv.server;
      const rooms = services.rooms;
      const dropped = rooms.dropped.bind(rooms);
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      const calls: string[] = [];
      // The drop's own write waits for the gate; any other passes straight through (and is counted).
      rooms.dropped = async (room, identity, sid, reason) => {
        calls.push(sid);
        if (calls.length === 1) await gate;
        return dropped(room, identity, sid, reason);
      };
      try {
        const alice = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: `dif-${backend}`, room: `dif-${backend}`, pq: false });
        const sid = alice.join?.participant?.sid ?? "";
        alice.kill();
        await eventually(async () => calls.length === 1 && services.local.get(sid) === undefined, "the drop to be on its way");
        const lines: string[] = [];
        const log = pino({ level: "warn" }, { write: (line: string) => void lines.push(line) });
        const report = await new HeldState(services, rooms, new SessionLedger(), log).sync(false, services.clock.now());
        assert.equal(report.markedAway, 0, "nothing marked away by the reconciliation");
        assert.deepEqual(lines, [], "and nothing logged");
        release();
        await eventually(async () => ((await services.store.getParticipant(`dif-${backend}`, `dif-${backend}`))?.awayUntil ?? 0n) > 0n, "the drop to be written");
        assert.deepEqual(calls, [sid], "the participant was marked away once");
      } finally {
        release();
        rooms.dropped = dropped;
      }
    });
  });
}
