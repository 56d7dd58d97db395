// An UpdateParticipant that changes nothing (the same metadata, name and attributes, or nothing at all) is no
// news: it raised the version and sent the whole room, the participant included, an update identical to the
// last one. As LiveKit does, it now answers the participant as it is and tells nobody.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RoomServiceClient } from "livekit-server-sdk";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { DEV_KEY, DEV_SECRET } from "../helpers/tokens.js";

let srv: TestServer;
let api: RoomServiceClient;
before(async () => {
  srv = await startTestServer();
  api = new RoomServiceClient(srv.apiUrl, DEV_KEY, DEV_SECRET);
});
after(async () => {
  await srv.close();
});

test("an UpdateParticipant that changes nothing keeps the version and tells nobody; a real change after it does", async () => {
  const room = "unchanged";
  const alice = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "alice", room, pq: "ML-KEM-768" });
  const bob = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "bob", room, pq: "ML-KEM-768" });
  try {
    const first = await api.updateParticipant(room, "alice", { metadata: "m", attributes: { a: "1" } });
    const heard = (c: TestClient) => c.waitFor("participantUpdate", (u) => u.participants.some((p) => p.identity === "alice" && p.version === first.version));
    await Promise.all([heard(alice), heard(bob)]);

    const same = await api.updateParticipant(room, "alice", { metadata: "m", attributes: { a: "1" } });
    const empty = await api.updateParticipant(room, "alice", {});
    assert.deepEqual([same.version, empty.version], [first.version, first.version], "no new version");
    assert.equal(same.metadata, "m");

    // The next real change is the very next update both hear, one version up.
    await api.updateParticipant(room, "alice", { metadata: "m2" });
    for (const c of [alice, bob]) {
      const u = await c.waitFor("participantUpdate", (x) => x.participants.some((p) => p.identity === "alice"));
      assert.deepEqual(u.participants.filter((p) => p.identity === "alice").map((p) => [p.version, p.metadata]), [[first.version + 1, "m2"]]);
    }
  } finally {
    alice.kill();
    bob.kill();
  }
});
