import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DisconnectReason, ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// models.proto: RESUME_FAILED is "did not resume within the resume window". The room must be able to tell a
// participant that never came back from one whose live connection timed out (CONNECTION_TIMEOUT).
describe("a participant that drops and never resumes", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_RESUME_WINDOW: "2" });
  });
  after(() => srv.close());

  test("is announced DISCONNECTED with RESUME_FAILED once its window has run out", async () => {
    const alice = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "gone-alice", room: "window", pq: "ML-KEM-768" });
    const bob = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "gone-bob", room: "window", pq: "ML-KEM-768" });
    const sid = alice.join?.participant?.sid;
    assert.ok(sid);
    alice.channel.kill();
    await alice.channel.closed;

    const update = await bob.waitFor("participantUpdate", (u) =>
      u.participants.some((p) => p.sid === sid && p.state === ParticipantState.DISCONNECTED), 15_000);
    const gone = update.participants.find((p) => p.sid === sid);
    assert.equal(gone?.disconnectReason, DisconnectReason.RESUME_FAILED);
    await bob.leave();
  });
});
