import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DataPacket_Kind, RoomServiceClient, TwirpError } from "livekit-server-sdk";
import { DisconnectReason, LeaveAction, ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { DEV_KEY, DEV_SECRET, makeToken } from "../helpers/tokens.js";
import { closedWithin } from "./connection-end.js";

// The real npm `livekit-server-sdk` RoomServiceClient against a running node with post-quantum signaling
// on (the default): every participant is a real client that completed the ML-KEM-768 handshake.
describe("livekit-server-sdk RoomServiceClient over /twirp (PQ on)", () => {
  let srv: TestServer;
  let api: RoomServiceClient;
  const clients: TestClient[] = [];
  before(async () => {
    srv = await startTestServer();
    api = new RoomServiceClient(srv.apiUrl, DEV_KEY, DEV_SECRET);
  });
  after(async () => {
    for (const c of clients) c.kill();
    await srv.close();
  });

  const join = async (identity: string, room: string, kind: "ws-protobuf" | "ws-flat" | "grpc-js" = "ws-protobuf") => {
    const c = await TestClient.connect({ kind, port: srv.port, identity, room, pq: "ML-KEM-768" });
    clients.push(c);
    return c;
  };

  /** The SDK's error for `call`, which must fail. */
  const failure = async (call: Promise<unknown>): Promise<TwirpError> => {
    try {
      await call;
    } catch (e) {
      assert.ok(e instanceof TwirpError, `expected a TwirpError, got ${String(e)}`);
      return e;
    }
    assert.fail("expected the call to fail");
  };

  test("createRoom and listRooms", async () => {
    const created = await api.createRoom({ name: "lk-created", metadata: "hello", maxParticipants: 7, emptyTimeout: 60 });
    assert.equal(created.name, "lk-created");
    assert.match(created.sid, /^RM_/);
    assert.deepEqual([created.metadata, created.maxParticipants, created.emptyTimeout], ["hello", 7, 60]);
    assert.ok(created.creationTime > 0n && created.creationTimeMs / 1000n === created.creationTime);
    // Creating it again returns the same room.
    assert.equal((await api.createRoom({ name: "lk-created" })).sid, created.sid);
    const rooms = await api.listRooms();
    assert.ok(rooms.some((r) => r.name === "lk-created" && r.sid === created.sid));
    assert.deepEqual((await api.listRooms(["lk-created", "lk-no-such-room"])).map((r) => r.name), ["lk-created"]);
  });

  test("createRoom on a room that exists updates it with what the request sets, as LiveKit's does", async () => {
    const first = await api.createRoom({ name: "lk-recreated", metadata: "one", maxParticipants: 5, emptyTimeout: 600 });
    const member = await join("rc-member", "lk-recreated");
    const again = await api.createRoom({ name: "lk-recreated", metadata: "two", emptyTimeout: 30 });
    assert.equal(again.sid, first.sid);
    assert.deepEqual([again.metadata, again.maxParticipants, again.emptyTimeout], ["two", 5, 30], "unset fields kept");
    assert.equal((await member.waitFor("roomUpdate")).room?.metadata, "two");
    // Nothing set: the room comes back as it is.
    const same = await api.createRoom({ name: "lk-recreated" });
    assert.deepEqual([same.metadata, same.maxParticipants, same.emptyTimeout], ["two", 5, 30]);
    assert.deepEqual((await api.listRooms(["lk-recreated"])).map((r) => r.metadata), ["two"]);
  });

  test("listParticipants and getParticipant show real PQ participants", async () => {
    await join("lp-alice", "lk-people");
    await join("lp-bob", "lk-people", "grpc-js");
    const people = await api.listParticipants("lk-people");
    assert.deepEqual(people.map((p) => p.identity).sort(), ["lp-alice", "lp-bob"]);
    for (const p of people) {
      assert.match(p.sid, /^PA_/);
      assert.equal(p.state, 1); // JOINED
      assert.ok(p.joinedAtMs > 0n && p.permission?.canPublishData === true);
    }
    const bob = await api.getParticipant("lk-people", "lp-bob");
    assert.equal(bob.identity, "lp-bob");
    assert.equal((await api.listRooms(["lk-people"]))[0]?.numParticipants, 2);
  });

  test("removeParticipant: the removed client gets leave PARTICIPANT_REMOVED and closes; the others see it leave", async () => {
    const alice = await join("rm-alice", "lk-remove");
    const bob = await join("rm-bob", "lk-remove", "ws-flat");
    await alice.waitFor("participantUpdate", (u) => u.participants.some((p) => p.identity === "rm-bob"));
    await api.removeParticipant("lk-remove", "rm-bob");
    const leave = await bob.waitFor("leave");
    assert.deepEqual([leave.reason, leave.action], [DisconnectReason.PARTICIPANT_REMOVED, LeaveAction.DISCONNECT]);
    assert.equal((await closedWithin(bob)).code, 1000);
    const gone = await alice.waitFor("participantUpdate", (u) => u.participants.some((p) => p.identity === "rm-bob"));
    assert.equal(gone.participants[0]?.state, ParticipantState.DISCONNECTED);
    assert.equal(gone.participants[0]?.disconnectReason, DisconnectReason.PARTICIPANT_REMOVED);
    assert.deepEqual((await api.listParticipants("lk-remove")).map((p) => p.identity), ["rm-alice"]);
    const again = await failure(api.removeParticipant("lk-remove", "rm-bob"));
    assert.deepEqual([again.status, again.code, again.message], [404, "not_found", "participant does not exist"]);
  });

  test("updateRoomMetadata: joined clients get room_update", async () => {
    const alice = await join("meta-alice", "lk-meta");
    const bob = await join("meta-bob", "lk-meta", "grpc-js");
    const room = await api.updateRoomMetadata("lk-meta", '{"topic":"standup"}');
    assert.equal(room.metadata, '{"topic":"standup"}');
    for (const c of [alice, bob]) {
      const update = await c.waitFor("roomUpdate");
      assert.deepEqual([update.room?.name, update.room?.metadata], ["lk-meta", '{"topic":"standup"}']);
    }
  });

  test("updateParticipant: metadata, name and attributes reach the room and the participant", async () => {
    const alice = await join("up-alice", "lk-update");
    const bob = await join("up-bob", "lk-update");
    const info = await api.updateParticipant("lk-update", "up-bob", { metadata: "promoted", name: "Bob B.", attributes: { role: "host" } });
    assert.deepEqual([info.identity, info.metadata, info.name, info.attributes], ["up-bob", "promoted", "Bob B.", { role: "host" }]);
    for (const c of [alice, bob]) {
      const seen = await c.waitFor("participantUpdate", (u) => u.participants.some((p) => p.identity === "up-bob" && p.metadata === "promoted"));
      assert.deepEqual(seen.participants[0]?.attributes, { role: "host" });
    }
    // An empty string leaves a field as it is (LiveKit's rule); an empty attribute value deletes the key.
    const next = await api.updateParticipant("lk-update", "up-bob", { attributes: { role: "" } });
    assert.deepEqual([next.metadata, next.name, next.attributes, next.version > info.version], ["promoted", "Bob B.", {}, true]);
    const refused = await failure(api.updateParticipant("lk-update", "up-bob", { permission: { canPublish: false } }));
    assert.deepEqual([refused.status, refused.code], [501, "unimplemented"]);
    assert.match(refused.message, /permissions is not supported/);
    // Who asks is checked before what is asked: a stranger or another room's admin gets 401/403, not 501.
    const admin = (room: string) => makeToken({ identity: "ops", room, grant: { roomJoin: false, roomAdmin: true } });
    const strangers = [
      ["no token", "", 401, "unauthenticated"],
      ["a wrong secret", `Bearer ${await makeToken({ identity: "ops", room: "lk-update", secret: "not-the-secret-0123456789", grant: { roomAdmin: true } })}`, 401, "unauthenticated"],
      ["another room's admin", `Bearer ${await admin("elsewhere")}`, 403, "permission_denied"],
    ] as const;
    for (const [who, authorization, status, code] of strangers) {
      const res = await fetch(`${srv.apiUrl}/twirp/livekit.RoomService/UpdateParticipant`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ room: "lk-update", identity: "up-bob", permission: { can_publish: false } }),
      });
      const body = (await res.json()) as { code: string };
      assert.deepEqual([res.status, body.code], [status, code], who);
    }
  });

  test("sendData: to the whole room and to chosen identities", async () => {
    const alice = await join("data-alice", "lk-data");
    const bob = await join("data-bob", "lk-data", "grpc-js");
    const carol = await join("data-carol", "lk-data", "ws-flat");
    const payload = new TextEncoder().encode("hello from the backend");
    await api.sendData("lk-data", payload, DataPacket_Kind.RELIABLE, { topic: "news" });
    for (const c of [alice, bob, carol]) {
      const data = await c.waitFor("data");
      assert.deepEqual([data.topic, new TextDecoder().decode(data.payload), data.from, data.fromSid], ["news", "hello from the backend", "", ""]);
      assert.match(data.id, /^[0-9a-f]{32}$/); // the SDK's 16-byte nonce, as hex
    }
    await api.sendData("lk-data", new Uint8Array([7]), DataPacket_Kind.LOSSY, { destinationIdentities: ["data-carol"], topic: "dm" });
    assert.deepEqual((await carol.waitFor("data")).payload, new Uint8Array([7]));
    const bobSid = bob.join?.participant?.sid ?? "";
    await api.sendData("lk-data", new Uint8Array([8]), DataPacket_Kind.RELIABLE, { destinationSids: [bobSid] });
    assert.deepEqual((await bob.waitFor("data")).payload, new Uint8Array([8]));
    // Only the addressed ones got the direct messages.
    alice.send({ case: "ping", value: { timestamp: 1n } });
    await alice.waitFor("pong");
    assert.equal(alice.stash.filter((r) => r.message.case === "data").length, 0);
  });

  test("deleteRoom: participants get leave ROOM_DELETED and the room is gone", async () => {
    const alice = await join("del-alice", "lk-delete");
    const bob = await join("del-bob", "lk-delete", "grpc-js");
    await api.deleteRoom("lk-delete");
    for (const c of [alice, bob]) {
      assert.equal((await c.waitFor("leave")).reason, DisconnectReason.ROOM_DELETED);
      assert.equal((await closedWithin(c)).code, 1000);
    }
    assert.deepEqual(await api.listRooms(["lk-delete"]), []);
  });

  test("errors arrive with their message, code and status", async () => {
    const unknown = await failure(api.deleteRoom("lk-never-existed"));
    assert.deepEqual([unknown.status, unknown.code, unknown.message], [404, "not_found", "requested room does not exist"]);

    await api.createRoom({ name: "lk-guarded" });
    const notAdmin = new RoomServiceClient(srv.apiUrl, undefined, undefined, {
      token: await makeToken({ identity: "ops", room: "lk-guarded", grant: { roomJoin: false, roomList: true } }),
    });
    const denied = await failure(notAdmin.listParticipants("lk-guarded"));
    assert.deepEqual([denied.status, denied.code], [403, "permission_denied"]);
    assert.equal(denied.message, 'permission denied: needs the roomAdmin grant for room "lk-guarded"');
    // roomAdmin is scoped to the token's room.
    const otherRoomAdmin = new RoomServiceClient(srv.apiUrl, undefined, undefined, {
      token: await makeToken({ identity: "ops", room: "lk-other", grant: { roomJoin: false, roomAdmin: true } }),
    });
    assert.equal((await failure(otherRoomAdmin.updateRoomMetadata("lk-guarded", "x"))).code, "permission_denied");
    assert.equal((await failure(notAdmin.createRoom({ name: "lk-nope" }))).message, "permission denied: creating or deleting rooms needs the roomCreate grant");
    assert.equal((await notAdmin.listRooms(["lk-guarded"])).length, 1);

    const wrongSecret = new RoomServiceClient(srv.apiUrl, DEV_KEY, "not-the-secret-at-all-but-long-enough");
    const unauthenticated = await failure(wrongSecret.listRooms());
    assert.deepEqual([unauthenticated.status, unauthenticated.code], [401, "unauthenticated"]);
    assert.equal(unauthenticated.message, "invalid authorization token: signature is invalid");

    const missing = await failure(api.getParticipant("lk-guarded", "nobody"));
    assert.deepEqual([missing.status, missing.code, missing.message], [404, "not_found", "participant does not exist"]);
    // A missing room is named as such (errors.md: room_not_found), for each participant method.
    for (const call of [
      () => api.getParticipant("lk-no-such-room", "nobody"),
      () => api.removeParticipant("lk-no-such-room", "nobody"),
      () => api.updateParticipant("lk-no-such-room", "nobody", { metadata: "x" }),
    ]) {
      const noRoom = await failure(call());
      assert.deepEqual([noRoom.status, noRoom.code, noRoom.message], [404, "not_found", "requested room does not exist"]);
    }
    const badName = await failure(api.createRoom({ name: "bad\nname" }));
    assert.deepEqual([badName.status, badName.code], [400, "invalid_argument"]);
    // A media method the SDK offers: refused as unimplemented, with the reason.
    const mute = await failure(api.mutePublishedTrack("lk-guarded", "someone", "TR_x", true));
    assert.deepEqual([mute.status, mute.code, mute.message], [501, "unimplemented", "MutePublishedTrack is not served: Volly relays signaling, not media"]);
  });
});
