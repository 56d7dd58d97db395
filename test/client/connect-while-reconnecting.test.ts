// While the client is reconnecting, connect(), rekey() and exportKey() wait for that recovery like every other
// request: connect() must not abandon the resume for a fresh join (a new participant, losing what was queued
// for this one), and rekey()/exportKey() must not fail because the socket is momentarily gone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, ConnectError } from "../../src/client/index.js";
import { startTestServer } from "../helpers/test-server.js";
import { nextEvent, nodeClient, until } from "../helpers/werift-sdk.js";

// The first retry only after a second: the calls below are made while the client is surely reconnecting.
const slowRetry = { maxAttempts: 3, initialDelayMs: 1000, maxDelayMs: 1000, multiplier: 1, jitter: 0 };

test("connect(), rekey() and exportKey() while reconnecting resolve after the resume of the same participant", async () => {
  const server = await startTestServer();
  const alice = await nodeClient(server.wsUrl, "cw-alice", "connect-while", { reconnect: slowRetry });
  const bob = await nodeClient(server.wsUrl, "cw-bob", "connect-while");
  try {
    await alice.client.connect();
    await bob.client.connect();
    const sid = alice.client.sid;
    const got: string[] = [];
    alice.client.on("data", (m) => got.push(new TextDecoder().decode(m.payload)));
    const reconnecting = nextEvent(alice.client, "reconnecting");
    const reconnected = nextEvent(alice.client, "reconnected");
    alice.tap.cut();
    await reconnecting;
    const ack = await bob.client.sendData("while away", { target: "cw-alice" });
    assert.equal(ack.recipients, 1);

    assert.equal(alice.client.state, "reconnecting");
    const connecting = alice.client.connect();
    const rekeyed = alice.client.rekey();
    const key = alice.client.getPostQuantumSession().exportKey("app-key", 32);
    const info = await connecting;
    assert.deepEqual((await reconnected)[0], { resumed: true }, "the resume went on");
    assert.equal(info.participant.sid, sid);
    assert.equal(alice.client.sid, sid, "the same participant");
    await rekeyed;
    assert.equal((await key).length, 32);
    await until(() => got.length === 1, "the message sent while away");
    assert.deepEqual(got, ["while away"]);
    assert.deepEqual(bob.client.participants.map((p) => p.sid), [sid]);
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
    await server.close();
  }
});

test("connect() while reconnecting rejects with the recovery's error when it gives up", async () => {
  const server = await startTestServer();
  const alice = await nodeClient(server.wsUrl, "cg-alice", "connect-gives-up", { reconnect: { ...slowRetry, maxAttempts: 1 }, connectTimeoutMs: 2000 });
  try {
    await alice.client.connect();
    const reconnecting = nextEvent(alice.client, "reconnecting");
    const disconnected = nextEvent(alice.client, "disconnected", 15_000);
    await server.close();
    await reconnecting;
    const error = await alice.client.connect().then(() => assert.fail("connect() resolved"), (e: unknown) => e);
    const [info] = await disconnected;
    assert.equal(info.reason, "reconnect_failed");
    assert.ok(error instanceof ConnectError);
    assert.equal(error, info.error);
    assert.equal(error.code, Code.Unavailable);
  } finally {
    await alice.client.disconnect();
  }
});
