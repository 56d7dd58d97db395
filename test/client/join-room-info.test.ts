// The SDK shows the room as the server describes it: `connect()` and `joined` carry its metadata, limit,
// timeouts and participant count from `join` (a room the backend set up before anyone joined), a resume
// refreshes them from `reconnect`, and `roomUpdated` carries the same shape. Real SDK clients in Node against a
// real server; the backend is livekit-server-sdk's RoomServiceClient.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RoomServiceClient } from "livekit-server-sdk";
import { Code, ConnectError, errorReasonOf } from "../../src/client/index.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { DEV_KEY, DEV_SECRET, nextEvent, nodeClient } from "../helpers/werift-sdk.js";

let server: TestServer;
let api: RoomServiceClient;
before(async () => {
  server = await startTestServer();
  api = new RoomServiceClient(server.apiUrl, DEV_KEY, DEV_SECRET);
});
after(async () => {
  await server.close();
});

test("a room created with metadata before the join: connect() and joined show it, with its limit and timeouts", async () => {
  const room = "info-created";
  const created = await api.createRoom({ name: room, metadata: '{"topic":"standup"}', maxParticipants: 4, emptyTimeout: 120, departureTimeout: 20 });
  const { client } = await nodeClient(server.wsUrl, "info-alice", room);
  assert.equal(client.room, undefined, "no room before the join");
  const info = await client.connect();
  assert.deepEqual(info.room, {
    name: room,
    sid: created.sid,
    metadata: '{"topic":"standup"}',
    numParticipants: 1,
    maxParticipants: 4,
    emptyTimeout: 120,
    departureTimeout: 20,
    creationTime: Number(created.creationTimeMs),
  });
  assert.deepEqual(client.joined?.room, info.room);
  assert.deepEqual(client.room, info.room);

  // Someone joining later sees the room as it is then.
  const { client: bob } = await nodeClient(server.wsUrl, "info-bob", room);
  const bobInfo = await bob.connect();
  assert.deepEqual([bobInfo.room.metadata, bobInfo.room.numParticipants], ['{"topic":"standup"}', 2]);

  // roomUpdated carries the same shape.
  const updated = nextEvent(client, "roomUpdated");
  await api.updateRoomMetadata(room, "retro");
  assert.deepEqual((await updated)[0], { ...info.room, metadata: "retro", numParticipants: 2 });
  assert.deepEqual(client.room, { ...info.room, metadata: "retro", numParticipants: 2 }, "room follows roomUpdated");
  assert.equal(client.joined?.room.metadata, '{"topic":"standup"}', "joined stays what the join said");
  await bob.disconnect();
  await client.disconnect();
});

test("after a resume, joined.room is the room as the reconnect describes it", async () => {
  const room = "info-resume";
  await api.createRoom({ name: room, metadata: "before", maxParticipants: 3 });
  const alice = await nodeClient(server.wsUrl, "info-carol", room);
  assert.equal((await alice.client.connect()).room.metadata, "before");
  const updated = nextEvent(alice.client, "roomUpdated");
  await api.updateRoomMetadata(room, "changed");
  assert.equal((await updated)[0].metadata, "changed");
  assert.equal(alice.client.joined?.room.metadata, "before", "joined is what the join said");
  assert.equal(alice.client.room?.metadata, "changed", "room is the room now");
  const reconnected = nextEvent(alice.client, "reconnected");
  alice.tap.cut();
  assert.deepEqual((await reconnected)[0], { resumed: true });
  assert.deepEqual([alice.client.joined?.room.metadata, alice.client.joined?.room.maxParticipants], ["changed", 3]);
  await alice.client.disconnect();
});

// A join refused after the upgrade (the server answers `error`, then `leave`) keeps the server's error id: the
// refusal dropped it, so an app could not tell `room_full` from the other ResourceExhausted refusals.
test("a join refused for a full room rejects with ResourceExhausted and errorReasonOf says room_full", async () => {
  const room = "info-full";
  await api.createRoom({ name: room, maxParticipants: 1 });
  const alice = await nodeClient(server.wsUrl, "info-first", room);
  await alice.client.connect();
  const bob = await nodeClient(server.wsUrl, "info-second", room);
  const refused = await bob.client.connect().then(() => undefined, (e: unknown) => e);
  assert.ok(refused instanceof ConnectError, `a ConnectError: ${String(refused)}`);
  assert.equal(refused.code, Code.ResourceExhausted);
  assert.equal(errorReasonOf(refused), "room_full");
  await alice.client.disconnect();
});
