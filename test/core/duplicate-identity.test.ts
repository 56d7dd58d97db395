import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DisconnectReason, LeaveAction } from "../../gen/volly/signaling/v1/models_pb.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// LiveKit's rule: a second connection with the same identity in a room takes its place, and the first is
// told DUPLICATE_IDENTITY and closed. End to end, with real clients over two transports.
describe("a second connection with the same identity replaces the first", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
  });
  after(() => srv.close());

  test("the first is told DUPLICATE_IDENTITY and closed; the room holds the new one, and relays reach it", async () => {
    const bob = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "dup-bob", room: "dup", pq: false });
    const first = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "dup-alice", room: "dup", pq: false });
    const firstSid = (await bob.waitFor("participantUpdate", (u) => u.participants.some((p) => p.identity === "dup-alice"))).participants.find((p) => p.identity === "dup-alice")?.sid;
    assert.ok(firstSid);

    const second = await TestClient.connect({ kind: "grpc-js", port: srv.port, identity: "dup-alice", room: "dup", pq: false });
    const leave = await first.waitFor("leave");
    assert.equal(leave.reason, DisconnectReason.DUPLICATE_IDENTITY);
    assert.equal(leave.action, LeaveAction.DISCONNECT);
    assert.notEqual((await first.channel.closed).code, 0);

    // The room lists alice once, under the new sid.
    const joined = second.join;
    const secondSid = joined?.participant?.sid;
    assert.ok(secondSid && secondSid !== firstSid);
    assert.deepEqual(joined?.otherParticipants.map((p) => p.identity), ["dup-bob"]);

    // A relay to alice reaches the new connection only.
    bob.send({ case: "offer", value: { sdp: "v=0 dup", target: "dup-alice" } });
    const offer = await second.waitFor("offer");
    assert.equal(offer.sdp, "v=0 dup");
    assert.equal(offer.from, "dup-bob");
    await second.leave();
    await bob.leave();
  });
});
