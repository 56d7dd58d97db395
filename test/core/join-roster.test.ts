// `join` and `reconnect` list the room's other participants, copied from the store's records undecoded
// (roster-frames.ts). What every client must read there, on both stores and over every framing: the
// others with their full info, hidden participants left out, never itself; one whose connection dropped as
// JOINED, as the others see it (the room is told neither of a drop nor of a resume).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ParticipantState, type ParticipantInfo } from "../../gen/volly/signaling/v1/models_pb.js";
import { ALL_KINDS } from "../helpers/channels.js";
import { eventually } from "../helpers/polling.js";
import { TestClient } from "../helpers/signal-client.js";
import { STORES, storeSkip, useServerOn } from "../helpers/server-on-store.js";

const listed = (others: ParticipantInfo[] | undefined) =>
  (others ?? []).map((p) => [p.identity, p.name, p.metadata, p.state, p.attributes["team"] ?? "", p.pqPublicKey.length]).sort();

for (const backend of STORES) {
  describe(`the roster in join and reconnect (${backend} store)`, { skip: await storeSkip(backend) }, () => {
    const srv = useServerOn(backend, "roster", { VOLLY_RESUME_WINDOW: "30" });

    test("lists the others in full, leaves out hidden ones and itself, and shows away ones as the room sees them", async () => {
      const room = `roster-${backend}`;
      const hidden = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "r-hidden", room, pq: "ML-KEM-768", token: { grant: { hidden: true } } });
      const keyed = await TestClient.connect({
        kind: "ws-protobuf", port: srv.port, identity: "r-keyed", room, pq: "ML-KEM-768", tokenKey: true,
        token: { name: "Keyed", metadata: '{"k":1}', claims: { attributes: { team: "blue" } } },
      });
      const away = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "r-away", room, pq: "ML-KEM-768", token: { name: "Away" } });
      const awaySid = away.join?.participant?.sid;
      assert.ok(awaySid);
      const awaySeen = away.lastMessageId;
      away.channel.kill();
      const store = srv.server.services.store;
      await eventually(async () => ((await store.getParticipant(room, "r-away"))?.awayUntil ?? 0n) > 0n, "r-away to be away", 5000);

      const expected = [
        ["r-away", "Away", "", ParticipantState.JOINED, "", 0],
        ["r-keyed", "Keyed", '{"k":1}', ParticipantState.JOINED, "blue", 1184],
      ].sort();
      for (const kind of ALL_KINDS) {
        const joiner = await TestClient.connect({ kind, port: srv.port, identity: `r-new-${kind}`, room, pq: "ML-KEM-768" });
        assert.deepEqual(listed(joiner.join?.otherParticipants), expected, kind);
        await joiner.leave();
      }

      // The away participant comes back: its reconnect lists the others, not itself, and nobody as away.
      const back = await TestClient.connect({
        kind: "ws-json", port: srv.port, identity: "r-away", room, pq: "ML-KEM-768",
        query: { reconnect: "1", sid: awaySid, last_message_id: String(awaySeen) },
      });
      assert.ok(back.reconnect);
      assert.equal(back.reconnect.participant?.sid, awaySid);
      assert.deepEqual(listed(back.reconnect.otherParticipants), [["r-keyed", "Keyed", '{"k":1}', ParticipantState.JOINED, "blue", 1184]]);
      for (const c of [back, keyed, hidden]) await c.leave();
    });
  });
}
