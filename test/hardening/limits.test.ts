import assert from "node:assert/strict";
import { CallAction } from "../../gen/volly/signaling/v1/signal_pb.js";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { DisconnectReason, ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { openChannel, UpgradeRefused } from "../helpers/channels.js";
import { TestClient } from "../helpers/signal-client.js";
import { until } from "../helpers/polling.js";
import { makeToken } from "../helpers/tokens.js";
import { limitCount, startTestServer, type TestServer } from "../helpers/test-server.js";

describe("limits: each is enforced with a clear answer and counted", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({
      VOLLY_PQ_ENABLED: "false",
      VOLLY_MAX_FRAME_BYTES: "4096",
      VOLLY_MAX_DATA_BYTES: "100",
      VOLLY_MAX_ROOMS: "3",
      VOLLY_MAX_PARTICIPANTS: "2",
      VOLLY_MAX_MESSAGES_PER_SECOND: "5",
      VOLLY_MESSAGE_BURST: "10",
      VOLLY_EMPTY_TIMEOUT: "0",
    });
  });
  after(() => srv.close());

  test("frame size: an oversized frame gets resource_exhausted and the connection carries on", async () => {
    const c = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "frames", room: "lim-a", pq: false });
    c.channel.sendRaw(new Uint8Array(5000));
    const error = await c.waitFor("error");
    assert.deepEqual([error.code, error.message], ["resource_exhausted", "frame larger than 4096 bytes"]);
    assert.equal(await limitCount(srv, "frame_size"), 1);
    await c.leave();
  });

  test("call_id: optional on an offer, at most 64 bytes anywhere, required by a call action", async () => {
    const a = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "calls-a", room: "lim-a", pq: false });
    const b = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "calls-b", room: "lim-a", pq: false });
    a.send({ case: "offer", value: { sdp: "v=0 no call", target: "calls-b" } });
    assert.equal((await b.waitFor("offer")).sdp, "v=0 no call");
    for (const message of [
      { case: "offer", value: { sdp: "v=0", target: "calls-b", callId: "c".repeat(65) } },
      { case: "call", value: { action: CallAction.INVITE, target: "calls-b", callId: "c".repeat(65) } },
    ] as const) {
      const id = a.send(message);
      const error = await a.waitFor("error", (_e, r) => r.requestId === id);
      assert.deepEqual([error.code, error.message], ["invalid_argument", "call_id is larger than 64 bytes"]);
    }
    assert.equal(await limitCount(srv, "field_too_large"), 2);
    const id = a.send({ case: "call", value: { action: CallAction.INVITE, target: "calls-b" } });
    const error = await a.waitFor("error", (_e, r) => r.requestId === id);
    assert.deepEqual([error.code, error.message], ["invalid_argument", "call_id is required"]);
    await a.leave();
    await b.leave();
  });

  test("a data message's topic and id and a call's reason are counted in UTF-8 bytes, as the RoomService counts them", async () => {
    const a = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "bytes-a", room: "lim-a", pq: false });
    const b = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "bytes-b", room: "lim-a", pq: false });
    // 64 and 33 characters of two bytes each: within the characters, over the bytes for the second.
    a.send({ case: "data", value: { target: "bytes-b", topic: "é".repeat(64), payload: new Uint8Array(1), id: "fits" } });
    assert.equal((await b.waitFor("data")).id, "fits");
    const refused = [
      [{ case: "data", value: { target: "bytes-b", topic: "é".repeat(65), payload: new Uint8Array(1) } }, "topic is larger than 128 bytes"],
      [{ case: "data", value: { target: "bytes-b", id: "é".repeat(33), payload: new Uint8Array(1) } }, "id is larger than 64 bytes"],
      [{ case: "call", value: { action: CallAction.INVITE, target: "bytes-b", callId: "c1", reason: "é".repeat(129) } }, "reason is larger than 256 bytes"],
    ] as const;
    for (const [message, text] of refused) {
      const id = a.send(message);
      const error = await a.waitFor("error", (_e, r) => r.requestId === id);
      assert.deepEqual([error.code, error.message], ["invalid_argument", text]);
    }
    await a.leave();
    await b.leave();
  });

  test("messages per second: over the burst requests are refused, and a client that keeps on is closed", async () => {
    const c = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "flood", room: "lim-a", pq: false });
    for (let i = 0; i < 10; i++) c.send({ case: "ping", value: { timestamp: BigInt(i) } });
    for (let i = 0; i < 10; i++) c.send({ case: "ping", value: { timestamp: BigInt(100 + i) } });
    const refusedIds: number[] = [];
    const error = await c.waitFor("error", (_e, r) => refusedIds.push(r.requestId) > 0);
    assert.deepEqual([error.code, error.message, error.reason], ["resource_exhausted", "too many messages, slow down", "rate_limited"]);
    // The refusal names the request it refused (one of the ten over the burst), so a client can fail that one.
    assert.ok((refusedIds[0] ?? 0) > 10 && (refusedIds[0] ?? 0) <= 20, `refused request id ${refusedIds[0]}`);
    for (let i = 0; i < 40; i++) c.send({ case: "ping", value: { timestamp: 1n } });
    const leave = await c.waitFor("leave", () => true, 5000);
    assert.equal(leave.reason, DisconnectReason.LIMIT_EXCEEDED);
    assert.equal((await c.channel.closed).code, 4008);
    assert.ok((await limitCount(srv, "messages_per_second")) >= 10);
  });

  test("messages per second: bursts that the client lets the bucket refill between are refused, never closed", async () => {
    const c = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "bursty", room: "lim-a", pq: false });
    let refused = 0;
    // Three bursts of 15 (5 over the burst of 10 each: 15 refusals in all, over the burst), each after the
    // bucket has had time to refill (5 per second): a client that slows down is not a flood.
    for (let round = 0; round < 3; round++) {
      await new Promise((r) => setTimeout(r, 2500));
      const ids: number[] = [];
      for (let i = 0; i < 15; i++) ids.push(c.send({ case: "ping", value: { timestamp: BigInt(i) } }));
      for (let i = 0; i < 5; i++) {
        const error = await c.waitFor("error", (_e, r) => ids.includes(r.requestId));
        assert.equal(error.code, "resource_exhausted");
        refused++;
      }
    }
    assert.equal(refused, 15);
    await new Promise((r) => setTimeout(r, 2500));
    c.send({ case: "ping", value: { timestamp: 7n } });
    assert.equal((await c.waitFor("pong", (p) => p.lastPingTimestamp === 7n)).lastPingTimestamp, 7n, "still connected");
    await c.leave();
  });

  test("WebSocket pings are answered and count against the message rate: a ping flood is closed like a request flood", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/rtc?access_token=${await makeToken({ identity: "pinger", room: "lim-p" })}`);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const pongs: string[] = [];
    ws.on("pong", (data: Buffer) => pongs.push(data.toString()));
    ws.ping("first");
    await until(() => pongs.length === 1, "the first ping answered");
    assert.deepEqual(pongs, ["first"], "the pong carries the ping's data");
    const closed = new Promise<number>((resolve) => ws.once("close", resolve));
    for (let i = 0; i < 60; i++) ws.ping(`flood-${i}`);
    assert.equal(await closed, 4008, "closed for exceeding the message rate");
    assert.ok(pongs.length <= 11, `at most the burst answered, not all 60 (${pongs.length})`);
    assert.ok((await limitCount(srv, "messages_per_second")) >= 10);
  });

  test("participants per room: the next one gets resource_exhausted", async () => {
    const a = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "p1", room: "lim-full", pq: false });
    const b = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "p2", room: "lim-full", pq: false });
    const c = await TestClient.connect({ kind: "ws-flat", port: srv.port, identity: "p3", room: "lim-full", pq: false, awaitJoin: false });
    assert.deepEqual([(await c.waitFor("error")).code, (await c.channel.closed).code], ["resource_exhausted", 4008]);
    assert.equal(await limitCount(srv, "room_full"), 1);
    await a.leave();
    await b.leave();
  });

  test("rooms: past VOLLY_MAX_ROOMS a new room is refused", async () => {
    // Rooms of the tests before close on the next sweep (empty timeout 0).
    const deadline = Date.now() + 5000;
    while ((await srv.server.services.store.listRooms()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: `r${i}`, room: `lim-room-${i}`, pq: false }));
    const extra = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "r-extra", room: "lim-room-x", pq: false, awaitJoin: false });
    const error = await extra.waitFor("error");
    assert.deepEqual([error.code, error.message], ["resource_exhausted", "the server has reached its room limit"]);
    assert.equal(await limitCount(srv, "too_many_rooms"), 1);
    for (const c of held) await c.leave();
  });

  test("discover batch and data payload size", async () => {
    const deadline = Date.now() + 5000;
    while ((await srv.server.services.store.listRooms()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const tooLarge = await limitCount(srv, "field_too_large");
    const a = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "d1", room: "lim-d", pq: false });
    const b = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "d2", room: "lim-d", pq: false });
    a.send({ case: "discover", value: { identities: Array.from({ length: 101 }, (_, i) => `x${i}`) } });
    assert.equal((await a.waitFor("error")).message, "discover accepts at most 100 identities");
    a.send({ case: "data", value: { target: "d2", payload: new Uint8Array(101), id: "big" } });
    assert.equal((await a.waitFor("error")).message, "payload is larger than 100 bytes");
    a.send({ case: "data", value: { target: "d2", payload: new Uint8Array(100), id: "ok" } });
    assert.equal((await b.waitFor("data")).id, "ok");
    assert.equal(await limitCount(srv, "discover_too_many"), 1);
    assert.equal(await limitCount(srv, "field_too_large"), tooLarge + 1);
    await a.leave();
    await b.leave();
  });
});

describe("connection limits", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_MAX_CONNECTIONS: "3", VOLLY_MAX_CONNECTIONS_PER_IP: "2" });
  });
  after(() => srv.close());

  test("per IP and in total, answered with 429 before the upgrade", async () => {
    const token = await makeToken({ identity: "conn", room: "lim-c" });
    const a = await openChannel("ws-protobuf", srv.port, { token });
    const b = await openChannel("ws-protobuf", srv.port, { token: await makeToken({ identity: "conn2", room: "lim-c" }) });
    await assert.rejects(openChannel("ws-protobuf", srv.port, { token }), (e: unknown) => e instanceof UpgradeRefused && e.status === 429);
    assert.equal(await limitCount(srv, "connections_per_ip"), 1);
    // Other loopback addresses are other clients: the total limit (3) stops the fourth.
    const c = await openChannel("ws-protobuf", srv.port, { token: await makeToken({ identity: "conn3", room: "lim-c" }), localAddress: "127.0.0.2" });
    await assert.rejects(
      openChannel("ws-protobuf", srv.port, { token: await makeToken({ identity: "conn4", room: "lim-c" }), localAddress: "127.0.0.3" }),
      (e: unknown) => e instanceof UpgradeRefused && e.status === 429 && e.body === "too many connections",
    );
    assert.equal(await limitCount(srv, "connections"), 1);
    c.kill();
    a.kill();
    b.kill();
    // Slots are given back when connections close.
    await new Promise((r) => setTimeout(r, 200));
    const again = await openChannel("ws-protobuf", srv.port, { token });
    again.kill();
  });

  test("an upgrade ws refuses after the token was accepted (a bad Sec-WebSocket-Version) gives its slot back", async () => {
    await new Promise((r) => setTimeout(r, 200));
    const token = await makeToken({ identity: "badver", room: "lim-c" });
    for (let i = 0; i < 4; i++) {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect({ port: srv.port, host: "127.0.0.1", localAddress: "127.0.0.4" });
        let got = "";
        socket.on("data", (d) => (got += d.toString("latin1")));
        socket.on("close", () => resolve(got));
        socket.on("error", reject);
        socket.write(`GET /rtc?access_token=${token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 99\r\n\r\n");
      });
      assert.match(answer, /^HTTP\/1\.1 400 /, "ws refuses the version");
    }
    const a = await openChannel("ws-protobuf", srv.port, { token: await makeToken({ identity: "badver-a", room: "lim-c" }), localAddress: "127.0.0.4" });
    const b = await openChannel("ws-protobuf", srv.port, { token: await makeToken({ identity: "badver-b", room: "lim-c" }), localAddress: "127.0.0.4" });
    a.kill();
    b.kill();
  });

  test("an upgrade refused for its token gives its slot back at once", async () => {
    await new Promise((r) => setTimeout(r, 200));
    const bad = await makeToken({ identity: "conn", room: "lim-c", secret: "not-the-server-secret".repeat(2) });
    for (let i = 0; i < 5; i++) {
      await assert.rejects(openChannel("ws-protobuf", srv.port, { token: bad }), (e: unknown) => e instanceof UpgradeRefused && e.status === 401);
    }
    const a = await openChannel("ws-protobuf", srv.port, { token: await makeToken({ identity: "after-a", room: "lim-c" }) });
    const b = await openChannel("ws-protobuf", srv.port, { token: await makeToken({ identity: "after-b", room: "lim-c" }) });
    a.kill();
    b.kill();
  });
});

describe("slow consumers", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({
      VOLLY_PQ_ENABLED: "false", VOLLY_MAX_SEND_BUFFER_BYTES: "65536", VOLLY_RESUME_WINDOW: "0",
      VOLLY_MAX_MESSAGES_PER_SECOND: "100000", VOLLY_MESSAGE_BURST: "100000",
    });
  });
  after(() => srv.close());

  test("a client that stops reading is cut off with SLOW_CONSUMER before it costs unbounded memory", async () => {
    const sender = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "fast", room: "slow", pq: false });
    const token = await makeToken({ identity: "stuck", room: "slow" });
    const stuck = new WebSocket(`${srv.wsUrl}/rtc?access_token=${token}&format=protobuf`);
    await new Promise((r) => stuck.once("message", r));
    // Stop reading: the kernel buffers fill, then the server's send buffer grows.
    (stuck as unknown as { _socket: { pause(): void } })._socket.pause();
    const sdp = "v=0 ".repeat(1000);
    const gone = sender.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "stuck" && u.participants[0].state === ParticipantState.DISCONNECTED, 20_000);
    for (let i = 0; i < 6000; i++) sender.send({ case: "offer", value: { sdp, target: "stuck" } });
    const update = await gone;
    assert.equal(update.participants[0]?.disconnectReason, DisconnectReason.SLOW_CONSUMER);
    assert.ok((await limitCount(srv, "send_buffer")) >= 1);
    stuck.terminate();
    await sender.leave();
  });
});

describe("limits on a post-quantum channel", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_MAX_MESSAGES_PER_SECOND: "5", VOLLY_MESSAGE_BURST: "10", VOLLY_MAX_DATA_BYTES: "100" });
  });
  after(() => srv.close());

  test("a burst over the message rate refuses the records it names and keeps the channel (their sequence numbers are taken)", async () => {
    for (const kind of ["ws-protobuf", "ws-json"] as const) {
      const c = await TestClient.connect({ kind, port: srv.port, identity: `pq-burst-${kind}`, room: "lim-pq", pq: "ML-KEM-768" });
      const ids: number[] = [];
      for (let i = 0; i < 15; i++) ids.push(c.send({ case: "ping", value: { timestamp: BigInt(i) } }));
      for (let i = 0; i < 5; i++) {
        const error = await c.waitFor("error", (_e, r) => ids.includes(r.requestId));
        assert.deepEqual([error.code, error.message], ["resource_exhausted", "too many messages, slow down"]);
      }
      // The record after the refused ones is read in order: the channel survived the refusals.
      await new Promise((r) => setTimeout(r, 1200));
      c.send({ case: "ping", value: { timestamp: 99n } });
      assert.equal((await c.waitFor("pong", (p) => p.lastPingTimestamp === 99n)).lastPingTimestamp, 99n);
      await c.leave();
    }
  });

  test("an offer's sdp is at most 64 KiB, on the fast path and the decoded one; the connection carries on", async () => {
    for (const kind of ["ws-protobuf", "ws-json"] as const) {
      const a = await TestClient.connect({ kind, port: srv.port, identity: `sdp-a-${kind}`, room: "lim-sdp", pq: "ML-KEM-768" });
      const b = await TestClient.connect({ kind, port: srv.port, identity: `sdp-b-${kind}`, room: "lim-sdp", pq: "ML-KEM-768" });
      const id = a.send({ case: "offer", value: { sdp: "v".repeat(65_537), target: `sdp-b-${kind}` } });
      const error = await a.waitFor("error", (_e, r) => r.requestId === id);
      assert.deepEqual([error.code, error.message], ["invalid_argument", "sdp is larger than 65536 bytes"]);
      a.send({ case: "offer", value: { sdp: "v".repeat(65_536), target: `sdp-b-${kind}` } });
      assert.equal((await b.waitFor("offer")).sdp.length, 65_536, "the largest sdp allowed is relayed");
      await a.leave();
      await b.leave();
    }
  });

  test("the join tells the client the connection's limits", async () => {
    const c = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "pq-limits", room: "lim-pq", pq: "ML-KEM-768" });
    const limits = c.join?.limits;
    assert.deepEqual(
      [limits?.maxFrameBytes, limits?.maxDataBytes, limits?.messagesPerSecond, limits?.messageBurst],
      [262_144, 100, 5, 10],
    );
    await c.leave();
  });
});

describe("frame size on an RPC signal stream", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_MAX_FRAME_BYTES: "4096" });
  });
  after(() => srv.close());

  test("frame size on an RPC stream: a message over the limit is refused unread and ends the stream (it cannot be skipped)", async () => {
        const c = await TestClient.connect({ kind: "grpc-js", port: srv.port, identity: "frames-rpc", room: "lim-a", pq: false });
    c.send({ case: "offer", value: { sdp: "v".repeat(5000), target: "nobody" } });
    // As for every fatal error (docs/errors.md): `error` and `leave` before the status.
    assert.equal((await c.waitFor("error")).reason, "frame_too_large");
    assert.equal((await c.waitFor("leave")).reason, DisconnectReason.PROTOCOL_ERROR);
    assert.deepEqual(await c.channel.closed, { code: 4008, reason: "frame larger than 4096 bytes" });
    assert.equal(await limitCount(srv, "frame_size"), 1);
  });
});
