import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import type { WebSocket } from "ws";
import { secretSlab } from "../../src/pq/secret-slab.js";
import type { SignalSession } from "../../src/session/signal-session.js";
import { until } from "../helpers/polling.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// What an idle participant keeps: the memory work dropped everything only the handshake needs. These
// tests pin that down, and that nothing the session still does (token refresh, PQ records) lost its input.
describe("what an established session keeps", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_TOKEN_REFRESH_INTERVAL: "1" });
  });
  after(() => srv.close());

  test("no access token and no handshake state once the PQ session is established; refresh and records still work", async () => {
    const a = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "idle-a", room: "idle", pq: "ML-KEM-768" });
    const b = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "idle-b", room: "idle", pq: "ML-KEM-768" });
    const sid = a.join?.participant?.sid ?? "";
    const session = srv.server.services.local.get(sid) as SignalSession | undefined;
    assert.ok(session, "the participant's session is held by the node");
    assert.equal(session.claims.token, "", "the session's claims carry no token");
    const kept = (session as unknown as { kept: unknown }).kept;
    assert.equal(typeof kept, "string", "a joined session keeps its claims as one string, not a tree of objects");
    assert.doesNotMatch(kept as string, /eyJ/, "the kept claims hold no token");
    assert.equal(session.claims.identity, "idle-a", "the kept claims decode to the claims the token carried");
    assert.equal(session.claims.video.room, "idle");
    assert.equal(session.pqKey, undefined, "the token's PQ key is released once it is in the participant's record");
    assert.equal("params" in session, false, "the session keeps two connect parameters, not the object that held the token");
    const inbound = (session as unknown as { inbound: { stamp: unknown } }).inbound;
    assert.equal(inbound.stamp, undefined, "a participant that has relayed nothing holds no encoded from/from_sid");
    const channel = (session as unknown as { pq: Record<string, unknown> }).pq;
    assert.equal(channel.handshakeState, undefined, "the finished handshake (token, client key) is released");
    assert.equal(channel.established, true);

    // The refresh re-signs the claims the session kept, and the result is a valid token.
    a.send({ case: "ping", value: { timestamp: 1n } });
    const refresh = await a.waitFor("refreshToken", () => true, 4000);
    const res = await fetch(`${srv.httpUrl}/rtc/validate?access_token=${refresh.token}`);
    assert.equal(res.status, 200);

    // Records both ways still work on the session that dropped its handshake.
    a.send({ case: "data", value: { target: "idle-b", payload: new TextEncoder().encode("hi"), id: "d1" } });
    assert.equal((await b.waitFor("data")).id, "d1");
    await a.waitFor("dataAck", (ack) => ack.id === "d1");
    assert.equal(inbound.stamp, undefined, "data is relayed after decoding, with its own from/from_sid");
    // An offer, answer or candidate is relayed from its bytes, with the sender's fields encoded once.
    a.send({ case: "trickle", value: { candidate: "{}", target: "idle-b" } });
    assert.equal((await b.waitFor("trickle")).from, "idle-a");
    assert.equal(typeof inbound.stamp, "string", "the first relay from bytes encoded the sender's from/from_sid, kept for the next");
    await a.leave();
    await b.leave();
  });

  test("an idle connection's sockets keep no listeners of ours, and its keys are in shared slab slots", async () => {
    // The sessions of the tests before have ended (their slots are back); only this test's two hold slots.
    await until(() => secretSlab.inUse === 0, "earlier sessions' slab slots given back");
    const before = secretSlab.inUse;
    const a = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "shared-a", room: "shared", pq: "ML-KEM-768" });
    const b = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "shared-b", room: "shared", pq: "ML-KEM-768" });
    const internals = (c: TestClient) => {
      const session = srv.server.services.local.get(c.join?.participant?.sid ?? "") as SignalSession | undefined;
      assert.ok(session);
      const transport = session.transport as unknown as { ws: WebSocket; socket: Socket };
      return { ws: transport.ws, socket: transport.socket };
    };
    const [x, y] = [internals(a), internals(b)];
    for (const ws of [x.ws, y.ws]) {
      for (const event of ["message", "pong", "error"]) assert.equal(ws.listenerCount(event), 0, `no ${event} listener: the socket hands it over itself`);
      assert.equal(ws.listenerCount("close"), 0, "no close listener: the bridge tracks its sockets without one");
      assert.equal((ws as unknown as { _events: unknown })._events, undefined, "no empty listener table either (a dictionary of about 170 bytes)");
      // What SignalWebSocket trims after each message (its spare capacity is not visible from here): if ws
      // renames it, the trim silently stops, and this says so.
      const chunks = (ws as unknown as { _receiver: { _buffers: unknown } })._receiver._buffers;
      assert.ok(Array.isArray(chunks) && chunks.length === 0, "ws's receiver queues unparsed chunks in an array named _buffers, empty between messages");
    }
    // A listener added later still hears its event: EventEmitter makes the table on the first `on`.
    const closed = new Promise<number>((resolve) => x.ws.once("close", resolve));
    assert.equal(x.socket.listenerCount("error"), 1, "once upgraded, the TCP socket keeps ws's error listener only");
    for (const { socket } of [x, y]) {
      assert.equal((socket as unknown as { _peername: unknown })._peername, undefined, "the socket no longer caches its peer's address");
      assert.equal(socket.remoteAddress, "127.0.0.1", "which it still gives when asked");
    }
    assert.equal(secretSlab.inUse, before + 6, "each PQ session keeps its keys, secrets and record prefix in three slab slots");
    await a.leave();
    assert.equal(typeof (await closed), "number", "the close event reached the listener added after the table was dropped");
    await b.leave();
    await until(() => secretSlab.inUse === before, "the sessions' slab slots given back");
  });

  test("ws's receive queue gives its spare capacity back after a keepalive's pong too", async () => {
    const a = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "pong-a", room: "pong", pq: "ML-KEM-768" });
    const session = srv.server.services.local.get(a.join?.participant?.sid ?? "") as SignalSession | undefined;
    assert.ok(session);
    const transport = session.transport as unknown as { ws: WebSocket; probe(): void };
    const receiver = (transport.ws as unknown as { _receiver: { _buffers: unknown[] } })._receiver;
    // Capacity cannot be seen from JavaScript; the trim can: it sets an already empty queue's length to 0.
    let trims = 0;
    receiver._buffers = new Proxy(receiver._buffers, {
      set(target, key, value) {
        if (key === "length" && value === 0 && target.length === 0) trims++;
        return Reflect.set(target, key, value);
      },
    });
    transport.probe();
    await until(() => trims > 0, "the queue trimmed after the client's pong");
    await a.leave();
  });

  test("a token-bound PQ key is released by the session once the join has recorded it", async () => {
    const a = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "bound-a", room: "bound", pq: "ML-KEM-768", tokenKey: true });
    const recorded = a.join?.participant?.pqPublicKey ?? new Uint8Array(0);
    assert.equal(recorded.length, 1184, "the participant's record carries the token's ML-KEM-768 key");
    const session = srv.server.services.local.get(a.join?.participant?.sid ?? "") as SignalSession | undefined;
    assert.ok(session);
    assert.equal(session.pqKey, undefined, "the session no longer holds its own copy");
    // Nor in its kept claims: a refreshed token binds no key (a resume uses an ephemeral one), and the
    // participant's record is what publishes the key.
    assert.equal(session.claims.payload.pqPublicKey, undefined);
    assert.deepEqual(Buffer.from(session.self?.info?.pqPublicKey ?? []), Buffer.from(recorded));
    await a.leave();
  });

  test("a socket that never says anything is closed after 10 s (the sniffing timer)", async () => {
    const started = Date.now();
    const socket = connect(srv.port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      socket.once("close", () => resolve());
      socket.once("error", reject);
    });
    const waited = Date.now() - started;
    assert.ok(waited >= 9_500 && waited < 14_000, `closed after ${waited} ms`);
  });

  test("a socket that has spoken is no longer subject to the sniffing timer", async () => {
    const socket = connect(srv.port, "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    // Part of a request: the sniffer hands it to the HTTP/1.1 server, whose own timeouts apply from here on.
    socket.write("GET /healthz HTTP/1.1\r\n");
    let closed = false;
    socket.once("close", () => (closed = true));
    await new Promise((r) => setTimeout(r, 11_000));
    assert.equal(closed, false, "closed by the sniffing timer");
    socket.write("Host: x\r\nConnection: close\r\n\r\n");
    const body = await new Promise<string>((resolve) => {
      let text = "";
      socket.on("data", (d: Buffer) => (text += d.toString()));
      socket.once("close", () => resolve(text));
    });
    assert.match(body, /^HTTP\/1\.1 200/);
  });
});
