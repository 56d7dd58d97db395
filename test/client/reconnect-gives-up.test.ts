// When the server is gone for good, recovery must end: each failed attempt is an ordinary ConnectError
// (Unavailable), not a `leave` refusal, and after `maxAttempts` the client reports `disconnected`
// {reason: "reconnect_failed"} instead of staying `reconnecting` forever.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Code } from "../../src/client/index.js";
import { startTestServer } from "../helpers/test-server.js";
import { nextEvent, nodeClient } from "../helpers/werift-sdk.js";

test("the server goes away: the SDK retries maxAttempts times, then disconnects with reconnect_failed", async () => {
  const server = await startTestServer();
  const alice = await nodeClient(server.wsUrl, "gone-alice", "gone", {
    reconnect: { maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 50, multiplier: 2, jitter: 0 },
    connectTimeoutMs: 2000,
  });
  await alice.client.connect();
  const reconnecting = nextEvent(alice.client, "reconnecting");
  const disconnected = nextEvent(alice.client, "disconnected", 15_000);
  await server.close();
  await reconnecting;
  const [info] = await disconnected;
  assert.equal(info.reason, "reconnect_failed");
  assert.equal(info.error?.code, Code.Unavailable, info.error?.message);
  assert.equal(alice.client.state, "disconnected");
});
