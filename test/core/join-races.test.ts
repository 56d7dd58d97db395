import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Joins that race for the last places of a room: the limit holds, and everyone admitted sees a consistent room.
describe("concurrent joins into a room with a participant limit (one node)", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_MAX_PARTICIPANTS: "5" });
  });
  after(() => srv.close());

  test("20 joins at once over WebSocket and gRPC: exactly 5 are admitted, the rest are told the room is full", async () => {
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) =>
      TestClient.connect({ kind: i % 2 === 0 ? "grpc-js" : "ws-protobuf", port: srv.port, identity: `racer-${i}`, room: "race", pq: false })));
    const admitted = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const refused = results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
    assert.equal(admitted.length, 5);
    assert.equal(refused.length, 15);
    for (const reason of refused) assert.match(reason, /room is full|resource_exhausted|429/);
    // Each admitted participant saw the ones admitted before it: together, 0 + 1 + 2 + 3 + 4 others.
    const seen = admitted.map((c) => c.join?.otherParticipants.length ?? -1).sort();
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
    for (const c of admitted) await c.leave();
  });
});
