import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CallAction } from "../../gen/volly/signaling/v1/signal_pb.js";
import { DisconnectReason, LeaveAction, ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

describe("session features (PQ off, ws and grpc clients)", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_EMPTY_TIMEOUT: "1" });
  });
  after(() => srv.close());

  const join = (identity: string, room: string, kind: "ws-protobuf" | "ws-flat" | "grpc-js" = "ws-protobuf", grant?: Record<string, unknown>) =>
    TestClient.connect({ kind, port: srv.port, identity, room, pq: false, token: grant ? { grant } : undefined });

  test("a participant can never reach another room, and gets the same not_found for unknown identities", async () => {
    const alice = await join("alice", "iso-a");
    const carol = await join("carol", "iso-b");
    for (const target of ["carol", "nobody-anywhere"]) {
      const id = alice.send({ case: "offer", value: { sdp: "x", target } });
      const error = await alice.waitFor("error", (_v, r) => r.requestId === id);
      assert.equal(error.code, "not_found");
      assert.equal(error.message, "target participant is not in your room");
    }
    const dataId = alice.send({ case: "data", value: { target: "carol", payload: new Uint8Array([1]), id: "d1" } });
    assert.equal((await alice.waitFor("error", (_v, r) => r.requestId === dataId)).code, "not_found");
    // Nothing reached carol.
    carol.send({ case: "ping", value: { timestamp: 1n } });
    await carol.waitFor("pong");
    assert.equal(carol.stash.length + carol.inbox.pending().length, 0);
    await alice.leave();
    await carol.leave();
  });

  test("discover answers presence across rooms, with last_seen after leaving", async () => {
    const alice = await join("d-alice", "disc-1");
    const bob = await join("d-bob", "disc-2", "grpc-js");
    alice.send({ case: "discover", value: { identities: ["d-bob", "d-alice", "d-nobody"] } });
    let users = (await alice.waitFor("discover")).users;
    assert.deepEqual(users.map((u) => [u.identity, u.online]), [["d-bob", true], ["d-alice", true], ["d-nobody", false]]);
    assert.equal(users[2]?.lastSeen, 0n);
    await bob.leave();
    alice.send({ case: "discover", value: { identities: ["d-bob"] } });
    users = (await alice.waitFor("discover")).users;
    assert.equal(users[0]?.online, false);
    assert.ok((users[0]?.lastSeen ?? 0n) > BigInt(Date.now() - 10_000));
    alice.send({ case: "discover", value: { identities: [] } });
    assert.deepEqual((await alice.waitFor("discover")).users, []);
    alice.send({ case: "discover", value: { identities: Array.from({ length: 101 }, (_, i) => `u${i}`) } });
    assert.equal((await alice.waitFor("error")).code, "invalid_argument");
    await alice.leave();
  });

  test("call invite -> ringing -> accept -> connected -> hangup, with flags and the sender stamped", async () => {
    const alice = await join("c-alice", "calls");
    const bob = await join("c-bob", "calls", "ws-flat");
    alice.send({ case: "call", value: { action: CallAction.INVITE, target: "c-bob", callId: "call-1", audio: true, video: true } });
    const invite = await bob.waitFor("call");
    assert.deepEqual([invite.action, invite.audio, invite.video, invite.from, invite.callId], [CallAction.INVITE, true, true, "c-alice", "call-1"]);
    bob.send({ case: "call", value: { action: CallAction.RINGING, target: "c-alice", callId: "call-1" } });
    assert.equal((await alice.waitFor("call")).action, CallAction.RINGING);
    bob.send({ case: "call", value: { action: CallAction.ACCEPT, target: "c-alice", callId: "call-1" } });
    assert.equal((await alice.waitFor("call")).action, CallAction.ACCEPT);
    alice.send({ case: "call", value: { action: CallAction.CONNECTED, target: "c-bob", callId: "call-1" } });
    bob.send({ case: "call", value: { action: CallAction.CONNECTED, target: "c-alice", callId: "call-1" } });
    assert.equal((await bob.waitFor("call")).action, CallAction.CONNECTED);
    assert.equal((await alice.waitFor("call")).action, CallAction.CONNECTED);
    const metrics = await (await fetch(`${srv.apiUrl}/metrics`)).text();
    assert.match(metrics, /volly_webrtc_connection_establishment_seconds_count 1/);
    alice.send({ case: "call", value: { action: CallAction.HANGUP, target: "c-bob", callId: "call-1", reason: "bye" } });
    const hangup = await bob.waitFor("call");
    assert.deepEqual([hangup.action, hangup.reason], [CallAction.HANGUP, "bye"]);
    // The call is over: answering it again is refused.
    bob.send({ case: "call", value: { action: CallAction.ACCEPT, target: "c-alice", callId: "call-1" } });
    assert.equal((await bob.waitFor("error")).code, "not_found");
    // A participant that leaves mid-call hangs up its calls.
    alice.send({ case: "call", value: { action: CallAction.INVITE, target: "c-bob", callId: "call-2", audio: true } });
    await bob.waitFor("call", (c) => c.callId === "call-2");
    await alice.leave();
    const auto = await bob.waitFor("call", (c) => c.action === CallAction.HANGUP);
    assert.equal(auto.callId, "call-2");
    await bob.leave();
  });

  test("an INVITE to oneself or with another pair's call_id is refused; the caller's own re-INVITE goes through", async () => {
    const alice = await join("g-alice", "call-guard");
    const bob = await join("g-bob", "call-guard", "ws-flat");
    const eve = await join("g-eve", "call-guard", "grpc-js");
    const self = alice.send({ case: "call", value: { action: CallAction.INVITE, target: "g-alice", callId: "g-self" } });
    const selfError = await alice.waitFor("error", (_e, r) => r.requestId === self);
    assert.deepEqual([selfError.code, selfError.message], ["invalid_argument", "a call needs another participant than yourself"]);
    alice.send({ case: "call", value: { action: CallAction.INVITE, target: "g-bob", callId: "g-1", audio: true } });
    assert.equal((await bob.waitFor("call", (c) => c.callId === "g-1")).from, "g-alice");
    // Eve learnt the call id somehow: her INVITE must not take the call over (nor reach bob).
    const taken = eve.send({ case: "call", value: { action: CallAction.INVITE, target: "g-bob", callId: "g-1" } });
    const takenError = await eve.waitFor("error", (_e, r) => r.requestId === taken);
    assert.deepEqual([takenError.code, takenError.message], ["already_exists", "call_id is already used by another call in this room"]);
    const stolenHangup = eve.send({ case: "call", value: { action: CallAction.HANGUP, target: "g-bob", callId: "g-1" } });
    assert.equal((await eve.waitFor("error", (_e, r) => r.requestId === stolenHangup)).code, "not_found");
    // Alice's own retry goes through, and the call is still hers and bob's.
    alice.send({ case: "call", value: { action: CallAction.INVITE, target: "g-bob", callId: "g-1", audio: true } });
    const retry = await bob.waitFor("call", (c) => c.callId === "g-1");
    assert.deepEqual([retry.action, retry.from], [CallAction.INVITE, "g-alice"]);
    bob.send({ case: "call", value: { action: CallAction.ACCEPT, target: "g-alice", callId: "g-1" } });
    assert.equal((await alice.waitFor("call", (c) => c.callId === "g-1")).action, CallAction.ACCEPT);
    await eve.leave();
    await alice.leave();
    await bob.leave();
  });

  test("data to one participant or the room, acknowledged by id", async () => {
    const a = await join("x-a", "data");
    const b = await join("x-b", "data", "ws-flat");
    const c = await join("x-c", "data", "grpc-js");
    const id1 = a.send({ case: "data", value: { target: "x-b", topic: "chat", payload: new TextEncoder().encode("hi"), id: "m1" } });
    const ack1 = await a.waitFor("dataAck", (_v, r) => r.requestId === id1);
    assert.deepEqual([ack1.id, ack1.recipients], ["m1", 1]);
    const got = await b.waitFor("data");
    assert.deepEqual([got.topic, new TextDecoder().decode(got.payload), got.from, got.id], ["chat", "hi", "x-a", "m1"]);
    a.send({ case: "data", value: { topic: "all", payload: new Uint8Array([7]), id: "m2" } });
    assert.equal((await a.waitFor("dataAck")).recipients, 2);
    assert.equal((await b.waitFor("data")).id, "m2");
    assert.equal((await c.waitFor("data")).id, "m2");
    a.send({ case: "data", value: { target: "x-b", payload: new Uint8Array(20_000), id: "big" } });
    assert.equal((await a.waitFor("error")).code, "invalid_argument");
    for (const p of [a, b, c]) await p.leave();
  });

  test("metadata updates reach the others; without the grant they are refused", async () => {
    const a = await join("m-a", "meta");
    const b = await join("m-b", "meta", "ws-flat", { canUpdateOwnMetadata: false });
    a.send({ case: "updateMetadata", value: { metadata: "{\"mood\":\"happy\"}", name: "Alice A", attributes: { k: "v" } } });
    const update = await b.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "m-a" && u.participants[0].metadata !== "");
    const info = update.participants[0];
    assert.deepEqual([info?.metadata, info?.name, info?.attributes.k, info?.version], ["{\"mood\":\"happy\"}", "Alice A", "v", 2]);
    b.send({ case: "updateMetadata", value: { metadata: "x" } });
    assert.equal((await b.waitFor("error")).code, "permission_denied");
    await a.leave();
    await b.leave();
  });

  test("ping is answered with pong carrying the client's timestamp", async () => {
    const a = await join("p-a", "ping", "grpc-js");
    a.send({ case: "ping", value: { timestamp: 123456789n, rtt: 5n } });
    const pong = await a.waitFor("pong");
    assert.equal(pong.lastPingTimestamp, 123456789n);
    assert.ok(Math.abs(Number(pong.timestamp) - Date.now()) < 5000);
    await a.leave();
  });

  test("the room closes after its empty timeout", async () => {
    const a = await join("e-a", "empties");
    assert.ok(await srv.server.services.store.getRoom("empties"));
    await a.leave();
    const deadline = Date.now() + 5000;
    while ((await srv.server.services.store.getRoom("empties")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await srv.server.services.store.getRoom("empties"), undefined);
  });

  test("leave tells the others with state DISCONNECTED and the reason", async () => {
    const a = await join("l-a", "leaving");
    const b = await join("l-b", "leaving");
    const closed = await b.leave();
    assert.equal(closed.code, 1000);
    const u = await a.waitFor("participantUpdate", (x) => x.participants[0]?.identity === "l-b" && x.participants[0].state !== ParticipantState.JOINED);
    assert.equal(u.participants[0]?.state, ParticipantState.DISCONNECTED);
    assert.equal(u.participants[0]?.disconnectReason, DisconnectReason.CLIENT_INITIATED);
    await a.leave();
  });
});

describe("liveness and limits", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({
      VOLLY_PQ_ENABLED: "false",
      VOLLY_PING_INTERVAL: "1",
      // Short, but with room for a loaded CI machine to answer a control ping in time.
      VOLLY_PING_TIMEOUT: "4",
      VOLLY_MAX_PARTICIPANTS: "2",
      VOLLY_TOKEN_REFRESH_INTERVAL: "1",
      VOLLY_RESUME_WINDOW: "0",
    });
  });
  after(() => srv.close());

  test("a client that stops pinging gets leave{CONNECTION_TIMEOUT} and is closed (gRPC, and WebSocket without pongs)", async () => {
    const observer = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "watcher", room: "timeouts", pq: false });
    const silent = await TestClient.connect({ kind: "grpc-js", port: srv.port, identity: "silent", room: "timeouts", pq: false });
    const leave = await silent.waitFor("leave", () => true, 12_000);
    assert.equal(leave.reason, DisconnectReason.CONNECTION_TIMEOUT);
    assert.equal((await silent.channel.closed).code, 4004);
    const gone = await observer.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "silent" && u.participants[0].state === ParticipantState.DISCONNECTED, 12_000);
    assert.ok(gone);
    // The observer never sent a ping either, but its ws answers control pings, so it is still there.
    observer.send({ case: "ping", value: { timestamp: 1n } });
    await observer.waitFor("pong");
    await observer.leave();
  });

  test("a WebSocket that does not answer control pings times out", async () => {
    const { openChannel } = await import("../helpers/channels.js");
    const { makeToken } = await import("../helpers/tokens.js");
    const ch = await openChannel("ws-protobuf", srv.port, { token: await makeToken({ identity: "nopong", room: "np" }), autoPong: false });
    const closed = await ch.closed;
    assert.equal(closed.code, 4004);
  });

  test("a full room refuses the next participant with resource_exhausted", async () => {
    const a = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "f1", room: "full", pq: false });
    const b = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "f2", room: "full", pq: false });
    const c = await TestClient.connect({ kind: "ws-flat", port: srv.port, identity: "f3", room: "full", pq: false, awaitJoin: false });
    const error = await c.waitFor("error");
    assert.equal(error.code, "resource_exhausted");
    const leave = await c.waitFor("leave");
    assert.equal(leave.reason, DisconnectReason.JOIN_FAILURE);
    assert.equal(leave.action, LeaveAction.DISCONNECT);
    assert.equal((await c.channel.closed).code, 4008);
    // Presence is written before the room is entered; the refused join took it back.
    a.send({ case: "discover", value: { identities: ["f3", "f2"] } });
    assert.deepEqual((await a.waitFor("discover")).users.map((u) => [u.identity, u.online]), [["f3", false], ["f2", true]]);
    await a.leave();
    await b.leave();
  });

  test("refresh_token arrives before expiry and is itself a valid token", async () => {
    const a = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "r1", room: "refresh", pq: false });
    a.send({ case: "ping", value: { timestamp: 1n } });
    const refresh = await a.waitFor("refreshToken", () => true, 4000);
    assert.ok(refresh.expiresAt > BigInt(Date.now()));
    const res = await fetch(`${srv.httpUrl}/rtc/validate?access_token=${refresh.token}`);
    assert.equal(res.status, 200);
    await a.leave();
  });
});
