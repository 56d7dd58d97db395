import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { VollyMessagingClient, type VollyMessage } from "../../src/client/index.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { nextEvent, nodeClient, until } from "../helpers/werift-sdk.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

async function pair(room: string) {
  const alice = await nodeClient(server.wsUrl, `${room}-alice`, room);
  const bob = await nodeClient(server.wsUrl, `${room}-bob`, room);
  await alice.client.connect();
  await bob.client.connect();
  const aliceMessaging = new VollyMessagingClient({ postQuantumSession: alice.client.getPostQuantumSession() });
  const bobMessaging = new VollyMessagingClient({ postQuantumSession: bob.client.getPostQuantumSession() });
  const bobInbox: VollyMessage[] = [];
  bobMessaging.on("message", (m) => bobInbox.push(m));
  const close = async () => {
    await alice.client.disconnect();
    await bob.client.disconnect();
  };
  return { alice, bob, aliceMessaging, bobMessaging, bobInbox, close };
}

test("messages to an identity and to the room, text and bytes, with delivery receipts", async () => {
  const p = await pair("msg");
  try {
    const carol = await nodeClient(server.wsUrl, "msg-carol", "msg");
    await carol.client.connect();
    const carolInbox: VollyMessage[] = [];
    new VollyMessagingClient({ postQuantumSession: carol.client.getPostQuantumSession() }).on("message", (m) => carolInbox.push(m));

    const direct = await p.aliceMessaging.send("hello bob", { to: "msg-bob" });
    assert.equal(direct.recipients, 1);
    const room = await p.aliceMessaging.send(new Uint8Array([1, 2, 3]));
    assert.equal(room.recipients, 2);
    await until(() => p.bobInbox.length === 2 && carolInbox.length === 1, "deliveries");
    assert.deepEqual(p.bobInbox.map((m) => [m.id, m.from, m.toRoom, m.body]), [
      [direct.id, "msg-alice", false, "hello bob"],
      [room.id, "msg-alice", true, new Uint8Array([1, 2, 3])],
    ]);
    assert.deepEqual(carolInbox[0]?.body, new Uint8Array([1, 2, 3]));
    // Generic `data` listeners see the same traffic on its own topic; other topics never reach messaging.
    await p.alice.client.sendData("not a message", { target: "msg-bob", topic: "app" });
    await p.aliceMessaging.send("last", { to: "msg-bob" });
    await until(() => p.bobInbox.length === 3, "third");
    assert.equal(p.bobInbox[2]?.body, "last");
    await carol.client.disconnect();
  } finally {
    await p.close();
  }
});

test("messages sent while resuming, and ones whose receipt was lost, are delivered exactly once", async () => {
  const p = await pair("once");
  try {
    let relayed = 0;
    p.bob.client.on("data", () => relayed++);
    // 1. Receipts lost: alice stops hearing the server (the server still relays), then her socket drops.
    p.alice.tap.deafen();
    const unacknowledged = [0, 1, 2, 3, 4].map((i) => p.aliceMessaging.send(`m${i}`, { to: "once-bob" }));
    await until(() => p.bobInbox.length === 5, "relayed before the drop");
    const reconnecting = nextEvent(p.alice.client, "reconnecting");
    const reconnected = nextEvent(p.alice.client, "reconnected");
    p.alice.tap.cut();
    await reconnecting;
    // 2. Sent while reconnecting: queued by the SDK, sent after the resume.
    const queued = [5, 6, 7, 8, 9].map((i) => p.aliceMessaging.send(`m${i}`, { to: "once-bob" }));
    assert.deepEqual((await reconnected)[0], { resumed: true });
    const receipts = await Promise.all([...unacknowledged, ...queued]);
    assert.ok(receipts.every((r) => r.recipients === 1));
    // 3. The receiver drops too, mid-stream: the server replays what it missed.
    const more = [10, 11, 12].map((i) => p.aliceMessaging.send(`m${i}`, { to: "once-bob" }));
    p.bob.tap.cut();
    await Promise.all(more);
    await nextEvent(p.bob.client, "reconnected");
    await until(() => p.bobInbox.length >= 13, "all thirteen");
    await new Promise((r) => setTimeout(r, 300)); // anything extra would arrive now
    assert.deepEqual(p.bobInbox.map((m) => m.body), Array.from({ length: 13 }, (_, i) => `m${i}`));
    assert.equal(new Set(p.bobInbox.map((m) => m.id)).size, 13);
    // The five whose receipts were lost were sent (and relayed) twice; the receiving SDK dropped the repeats
    // before any `data` listener, so raw listeners see each once too (data-exactly-once.test.ts).
    assert.equal(relayed, 13);
  } finally {
    await p.close();
  }
});

test("a repeated message id from the same sender is delivered once", async () => {
  const p = await pair("dupe");
  const mallory = await TestClient.connect({ kind: "ws-protobuf", port: server.port, identity: "dupe-mallory", room: "dupe", pq: "ML-KEM-768" });
  try {
    const payload = new Uint8Array([1, ...new TextEncoder().encode("once")]);
    for (let i = 0; i < 3; i++) {
      mallory.send({ case: "data", value: { target: "dupe-bob", topic: "volly.messaging.v1", payload, id: "same-id" } });
      await mallory.waitFor("dataAck");
    }
    mallory.send({ case: "data", value: { target: "dupe-bob", topic: "volly.messaging.v1", payload, id: "other-id" } });
    await mallory.waitFor("dataAck");
    await until(() => p.bobInbox.length === 2, "two distinct messages");
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(p.bobInbox.map((m) => [m.from, m.id, m.body]), [["dupe-mallory", "same-id", "once"], ["dupe-mallory", "other-id", "once"]]);
  } finally {
    await mallory.leave();
    await p.close();
  }
});
