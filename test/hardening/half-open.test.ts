import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("a client whose network goes away (half-open socket)", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PING_INTERVAL: "1", VOLLY_PING_TIMEOUT: "3", VOLLY_RESUME_WINDOW: "30" });
  });
  after(() => srv.close());

  test("is detected by the ping timeout, kept for the resume window, and loses no signal when it resumes", async () => {
    const a = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "steady", room: "half-open", pq: "ML-KEM-768" });
    const b = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "flaky", room: "half-open", pq: "ML-KEM-768", autoPong: false });
    const sid = b.join?.participant?.sid ?? "";
    for (let i = 0; i < 10; i++) a.send({ case: "data", value: { target: "flaky", payload: new TextEncoder().encode(`m${i}`), id: `m${i}` } });
    for (let i = 0; i < 10; i++) assert.equal((await b.waitFor("data")).id, `m${i}`);
    const processed = b.lastMessageId;

    // The network goes away: no FIN, no more reads. The peer keeps talking.
    b.channel.freeze?.();
    for (let i = 10; i < 30; i++) a.send({ case: "data", value: { target: "flaky", payload: new TextEncoder().encode(`m${i}`), id: `m${i}` } });
    const store = srv.server.services.store;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const p = await store.getParticipant("half-open", "flaky");
      if (p && p.awayUntil > 0n) break;
      if (Date.now() > deadline) assert.fail("the half-open connection was not detected");
      await new Promise((r) => setTimeout(r, 200));
    }
    // Still a member for the others (it may resume), and messages keep being queued for it.
    a.send({ case: "data", value: { target: "flaky", payload: new TextEncoder().encode("m30"), id: "m30" } });
    await a.waitFor("dataAck", (ack) => ack.id === "m30");

    const resumed = await TestClient.connect({
      kind: "ws-protobuf", port: srv.port, identity: "flaky", room: "half-open", pq: "ML-KEM-768",
      query: { reconnect: "1", sid, last_message_id: String(processed) },
    });
    assert.equal(resumed.reconnect?.participant?.sid, sid);
    const got: string[] = [];
    while (got.length < 21) got.push(text((await resumed.waitFor("data")).payload));
    assert.deepEqual(got, Array.from({ length: 21 }, (_, i) => `m${i + 10}`));
    // Ids continue where the frozen connection stopped, one by one: nothing lost, nothing twice.
    const ids = resumed.messageIds;
    assert.equal(ids[0], processed + 1n);
    assert.deepEqual(ids, ids.map((_, i) => processed + 1n + BigInt(i)));
    b.kill();
    await resumed.leave();
    await a.leave();
  });
});

describe("a client that breaks the WebSocket protocol", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_RESUME_WINDOW: "30" });
  });
  after(() => srv.close());

  test("an unmasked frame ends its connection (and only it); the participant is away, the server unharmed", async () => {
    const a = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "calm", room: "proto-err", pq: "ML-KEM-768" });
    const b = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "rude", room: "proto-err", pq: "ML-KEM-768" });
    const sid = b.join?.participant?.sid ?? "";
    assert.ok(srv.server.services.local.get(sid));
    // RFC 6455 §5.1: a client must mask every frame; ws refuses this one with a protocol error.
    b.channel.writeRaw?.(Buffer.from([0x82, 0x02, 0x01, 0x02]));
    await b.channel.closed;
    const deadline = Date.now() + 10_000;
    while (srv.server.services.local.get(sid) !== undefined) {
      if (Date.now() > deadline) assert.fail("the broken connection's session was not ended");
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(((await srv.server.services.store.getParticipant("proto-err", "rude"))?.awayUntil ?? 0n) > 0n, "kept for the resume window");
    a.send({ case: "data", value: { target: "rude", payload: new TextEncoder().encode("still here"), id: "d1" } });
    await a.waitFor("dataAck", (ack) => ack.id === "d1");
    assert.equal((await fetch(`${srv.httpUrl}/healthz`)).status, 200);
    await a.leave();
  });
});
