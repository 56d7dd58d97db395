// Every participant that leaves is traceable by sid in the logs (operations.md §6: `participant left`
// with `sid` and `reason`), including the ones RoomService's DeleteRoom removes: before, only
// RemoveParticipant's departures were logged, and DeleteRoom wrote a summary line without sids.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { DisconnectReason } from "../../gen/volly/signaling/v1/models_pb.js";
import { RoomService } from "../../gen/volly/signaling/v1/room_service_pb.js";
import { capturedKeys, startCaptured } from "../helpers/captured-server.js";
import { TestClient } from "../helpers/signal-client.js";
import { makeToken } from "../helpers/tokens.js";

interface LogLine {
  msg?: string;
  sid?: string;
  room?: string;
  identity?: string;
  reason?: string;
}

test("DeleteRoom logs `participant left` with sid and reason for each participant it removes", async () => {
  const node = await startCaptured("info", { VOLLY_PQ_ENABLED: "false" });
  const room = "logged-delete";
  const clients: TestClient[] = [];
  try {
    for (const identity of ["alice", "bob", "carol"]) {
      clients.push(await TestClient.connect({ kind: "ws-protobuf", port: node.port, identity, room, pq: false, token: capturedKeys }));
    }
    const sids = clients.map((c) => c.join?.participant?.sid ?? "");
    assert.ok(sids.every((sid) => sid.startsWith("PA_")));

    const api = createClient(RoomService, createConnectTransport({ baseUrl: `http://127.0.0.1:${node.port}`, httpVersion: "1.1" }));
    const admin = await makeToken({ ...capturedKeys, identity: "", room, grant: { roomJoin: false, roomCreate: true, roomAdmin: true } });
    const removed = await api.deleteRoom({ room }, { headers: { authorization: `Bearer ${admin}` } });
    assert.equal(removed.removedParticipants, 3);
    // The lines are written before DeleteRoom answers; the connections are told too.
    for (const c of clients) assert.equal((await c.waitFor("leave", () => true, 10_000)).reason, DisconnectReason.ROOM_DELETED);

    const left = node.lines.map((l) => JSON.parse(l) as LogLine).filter((l) => l.msg === "participant left");
    assert.deepEqual(
      left.map((l) => [l.sid, l.room, l.identity, l.reason]).sort(),
      [
        [sids[0], room, "alice", "ROOM_DELETED"],
        [sids[1], room, "bob", "ROOM_DELETED"],
        [sids[2], room, "carol", "ROOM_DELETED"],
      ].sort(),
      "one line per removed participant, none twice",
    );
  } finally {
    for (const c of clients) c.kill();
    await node.server.close(1000);
  }
});
