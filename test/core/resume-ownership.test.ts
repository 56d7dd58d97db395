import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DisconnectReason, LeaveAction } from "../../gen/volly/signaling/v1/models_pb.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// A sid is no secret: everyone in the room sees it (join's other_participants, every relay's from_sid). A
// resume naming a sid that is not the token's own participant must be refused and change nothing: the
// participant holding that sid keeps its connection, and the room keeps telling the truth about it.
describe("a resume with someone else's sid", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_RESUME_WINDOW: "2" });
  });
  after(() => srv.close());

  for (const [label, room] of [["from the same room", "own-room"], ["from another room", "other-room"]] as const) {
    test(`${label} is refused and leaves the victim connected`, async () => {
      const victim = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: `victim-${room}`, room: "own-room", pq: "ML-KEM-768" });
      const peer = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: `peer-${room}`, room: "own-room", pq: "ML-KEM-768" });
      const sid = victim.join?.participant?.sid;
      assert.ok(sid);

      const thief = await TestClient.connect({
        kind: "ws-protobuf", port: srv.port, identity: `thief-${room}`, room, pq: "ML-KEM-768",
        query: { reconnect: "1", sid }, awaitJoin: false,
      });
      const refused = await thief.waitFor("error");
      assert.equal(refused.message, "participant cannot be resumed; join again");
      const leave = await thief.waitFor("leave");
      assert.equal(leave.reason, DisconnectReason.STATE_MISMATCH);
      assert.equal(leave.action, LeaveAction.RECONNECT);

      // The victim is still connected and reachable, under its own sid.
      peer.send({ case: "offer", value: { sdp: `v=0 after ${room}`, target: victim.join?.participant?.identity ?? "" } });
      const offer = await victim.waitFor("offer");
      assert.equal(offer.sdp, `v=0 after ${room}`);
      victim.send({ case: "ping", value: { timestamp: 1n } });
      await victim.waitFor("pong");
      await victim.leave();
      await peer.waitFor("participantUpdate", (u) => u.participants.some((p) => p.sid === sid));
      await peer.leave();
    });
  }
});

describe("a resume with a last_message_id the server never sent", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_RESUME_WINDOW: "5" });
  });
  after(() => srv.close());

  test("is refused without touching the participant, which can still resume with its real id", async () => {
    const alice = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "future-alice", room: "future", pq: "ML-KEM-768" });
    const bob = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "future-bob", room: "future", pq: "ML-KEM-768" });
    const sid = alice.join?.participant?.sid;
    assert.ok(sid);
    await alice.waitFor("participantUpdate", (u) => u.participants.some((p) => p.identity === "future-bob"));
    const seen = alice.lastMessageId;
    alice.channel.kill();
    await alice.channel.closed;

    const wrong = await TestClient.connect({
      kind: "ws-protobuf", port: srv.port, identity: "future-alice", room: "future", pq: "ML-KEM-768",
      query: { reconnect: "1", sid, last_message_id: String(seen + 1000n) }, awaitJoin: false,
    });
    const refused = await wrong.waitFor("error");
    assert.equal(refused.message, "invalid query: last_message_id is past the last message sent to this participant");
    // Over gRPC the same id comes as metadata, and the error names it so.
    const wrongRpc = await TestClient.connect({
      kind: "grpc-js", port: srv.port, identity: "future-alice", room: "future", pq: "ML-KEM-768",
      headers: { "volly-reconnect": "1", "volly-sid": sid, "volly-last-message-id": String(seen + 1000n) }, awaitJoin: false,
    });
    const refusedRpc = await wrongRpc.waitFor("error");
    assert.equal(refusedRpc.message, "invalid connect metadata: volly-last-message-id is past the last message sent to this participant");

    // Messages sent meanwhile are kept, and the real id resumes and gets them, once each.
    bob.send({ case: "offer", value: { sdp: "v=0 while away", target: "future-alice" } });
    await bob.flush();
    const right = await TestClient.connect({
      kind: "ws-protobuf", port: srv.port, identity: "future-alice", room: "future", pq: "ML-KEM-768",
      query: { reconnect: "1", sid, last_message_id: String(seen) },
    });
    assert.ok(right.reconnect);
    const offer = await right.waitFor("offer");
    assert.equal(offer.sdp, "v=0 while away");
    await right.leave();
    await bob.leave();
  });
});
