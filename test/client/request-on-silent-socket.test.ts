import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { nextEvent, nodeClient } from "../helpers/werift-sdk.js";

// A request sent just as the network goes half-open gets no answer, and nothing else arrives either. The
// heartbeat notices within the ping timeout and the SDK resumes, sending the request again. A request
// timeout shorter than that must not fail the request first: the resume was about to deliver it.
let server: TestServer;
before(async () => {
  server = await startTestServer({ VOLLY_PING_INTERVAL: "1", VOLLY_PING_TIMEOUT: "3", VOLLY_RESUME_WINDOW: "30" });
});
after(async () => {
  await server.close();
});

/** Alice (with `options`) and bob connected in `room`; `received` collects the ids of the data bob gets. */
async function pair(prefix: string, room: string, options: Parameters<typeof nodeClient>[3]) {
  const alice = await nodeClient(server.wsUrl, `${prefix}-alice`, room, options);
  const bob = await nodeClient(server.wsUrl, `${prefix}-bob`, room);
  await alice.client.connect();
  await bob.client.connect();
  const received: string[] = [];
  bob.client.on("data", (m) => received.push(m.id));
  return { alice, bob, received };
}

test("a request on a socket that went silent waits for the resume instead of timing out, and arrives once", async () => {
  const { alice, bob, received } = await pair("silent", "silent-socket", { requestTimeoutMs: 1500 });
  try {
    // From now on nothing reaches alice: her request reaches the server, its answer is lost.
    alice.tap.deafen();
    const resumed = nextEvent(alice.client, "reconnected", 15_000);
    const ack = await alice.client.sendData("through the silence", { target: "silent-bob", id: "m0" });
    assert.equal(ack.recipients, 1);
    const [{ resumed: wasResumed }] = await resumed;
    assert.equal(wasResumed, true);
    assert.deepEqual(received, ["m0"], "delivered once, though sent twice");
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
  }
});

test("a request on a socket that went silent survives a reconnect that takes longer than its timeout", async () => {
  const { alice, bob, received } = await pair("down", "silent-down", { requestTimeoutMs: 1500, reconnect: { maxAttempts: 30, maxDelayMs: 500 } });
  try {
    // The network goes: nothing reaches alice, and no new connection gets through until it is back.
    alice.tap.deafen();
    alice.tap.down = true;
    const reconnecting = nextEvent(alice.client, "reconnecting", 15_000);
    const acked = alice.client.sendData("across the outage", { target: "down-bob", id: "d0" });
    await reconnecting;
    // Well past the request's timeout, counted from when the heartbeat gave the socket up.
    await new Promise((r) => setTimeout(r, 4000));
    const resumed = nextEvent(alice.client, "reconnected", 15_000);
    alice.tap.down = false;
    assert.equal((await acked).recipients, 1);
    assert.equal((await resumed)[0].resumed, true);
    assert.deepEqual(received, ["d0"], "delivered once");
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
  }
});
