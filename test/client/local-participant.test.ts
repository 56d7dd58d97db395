// The SDK's own participant: the server sends a participant the updates about itself (RoomService
// UpdateParticipant, its own update_metadata); they change `localParticipant` and never list the client
// among the others. Real SDK clients in Node against a real server, the admin is livekit-server-sdk.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RoomServiceClient } from "livekit-server-sdk";
import type { VollyParticipant } from "../../src/client/index.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { DEV_KEY, DEV_SECRET, nextEvent, nodeClient, until } from "../helpers/werift-sdk.js";

let server: TestServer;
let api: RoomServiceClient;
before(async () => {
  server = await startTestServer();
  api = new RoomServiceClient(server.apiUrl, DEV_KEY, DEV_SECRET);
});
after(async () => {
  await server.close();
});

/** Every participant event of `client`, in order, as `event identity`. */
function recordEvents(client: Awaited<ReturnType<typeof nodeClient>>["client"]): string[] {
  const seen: string[] = [];
  for (const event of ["participantJoined", "participantUpdated", "participantLeft", "localParticipantUpdated"] as const) {
    client.on(event, (p: VollyParticipant) => seen.push(`${event} ${p.identity}`));
  }
  return seen;
}

test("UpdateParticipant of yourself updates localParticipant, never the others", async () => {
  const room = "self-update";
  const alice = await nodeClient(server.wsUrl, "self-alice", room);
  const aliceEvents = recordEvents(alice.client);
  const info = await alice.client.connect();
  assert.equal(alice.client.localParticipant?.identity, "self-alice");
  assert.equal(alice.client.localParticipant?.sid, info.participant.sid);

  // Alone in the room: the only participant_update alice gets is the one about herself.
  const local = nextEvent(alice.client, "localParticipantUpdated");
  const updated = await api.updateParticipant(room, "self-alice", { metadata: "promoted", name: "Alice A.", attributes: { role: "host" } });
  const [self] = await local;
  assert.deepEqual([self.identity, self.sid, self.metadata, self.name, self.attributes], ["self-alice", info.participant.sid, "promoted", "Alice A.", { role: "host" }]);
  assert.equal(self.version, updated.version);
  assert.deepEqual(alice.client.localParticipant, self);
  assert.equal(alice.client.participants.length, 0);
  assert.deepEqual(aliceEvents, ["localParticipantUpdated self-alice"]);
  // `joined` stays what the join said.
  assert.equal(alice.client.joined?.participant.metadata, "");

  // With someone else in the room: bob sees alice change, alice sees only herself change.
  const bob = await nodeClient(server.wsUrl, "self-bob", room);
  const bobEvents = recordEvents(bob.client);
  const bobJoined = nextEvent(alice.client, "participantJoined");
  await bob.client.connect();
  await bobJoined;
  const bobSaw = nextEvent(bob.client, "participantUpdated");
  const aliceSaw = nextEvent(alice.client, "localParticipantUpdated");
  await api.updateParticipant(room, "self-alice", { attributes: { role: "", mood: "calm" } });
  assert.deepEqual((await bobSaw)[0].attributes, { mood: "calm" });
  assert.deepEqual((await aliceSaw)[0].attributes, { mood: "calm" });
  assert.deepEqual(alice.client.participants.map((p) => p.identity), ["self-bob"]);
  assert.deepEqual(bob.client.participants.map((p) => p.identity), ["self-alice"]);
  assert.deepEqual(aliceEvents, ["localParticipantUpdated self-alice", "participantJoined self-bob", "localParticipantUpdated self-alice"]);
  assert.deepEqual(bobEvents, ["participantJoined self-alice", "participantUpdated self-alice"]);

  await bob.client.disconnect();
  await alice.client.disconnect();
});

test("updateMetadata: localParticipant shows the change when it resolves; the others get participantUpdated", async () => {
  const room = "self-own-update";
  const alice = await nodeClient(server.wsUrl, "own-alice", room);
  const bob = await nodeClient(server.wsUrl, "own-bob", room);
  const aliceEvents = recordEvents(alice.client);
  await alice.client.connect();
  await bob.client.connect();
  await until(() => alice.client.participants.length === 1, "alice sees bob");
  const before = alice.client.localParticipant?.version ?? 0;

  const bobSaw = nextEvent(bob.client, "participantUpdated");
  await alice.client.updateMetadata({ metadata: "busy", attributes: { team: "blue" } });
  const self = alice.client.localParticipant;
  assert.deepEqual([self?.metadata, self?.attributes], ["busy", { team: "blue" }]);
  assert.ok((self?.version ?? 0) > before);
  const [seen] = await bobSaw;
  assert.deepEqual([seen.identity, seen.metadata, seen.version], ["own-alice", "busy", self?.version]);
  assert.deepEqual(alice.client.participants.map((p) => p.identity), ["own-bob"]);
  assert.ok(!aliceEvents.some((e) => e.endsWith(" own-alice") && !e.startsWith("localParticipantUpdated")), aliceEvents.join(", "));

  await bob.client.disconnect();
  await alice.client.disconnect();
});
