import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Code, ConnectError, errorReasonOf, VollyMessagingClient } from "../../src/client/index.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { nodeClient } from "../helpers/werift-sdk.js";

// A message's body shares the server's data limit with a 1-byte type tag: the refusal must name the body's
// limit, not the payload's, or an app sizing bodies by the number it reads is refused again.

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

test("a body of the data limit less one byte is sent; one byte more is refused naming that limit", async () => {
  const alice = await nodeClient(server.wsUrl, "bl-alice", "body-limit");
  const bob = await nodeClient(server.wsUrl, "bl-bob", "body-limit");
  try {
    await alice.client.connect();
    await bob.client.connect();
    const messaging = new VollyMessagingClient({ postQuantumSession: alice.client.getPostQuantumSession() });
    const limit = alice.client.joined?.limits.maxDataBytes ?? 0;
    assert.equal(limit, 16_384);
    assert.equal((await messaging.send("x".repeat(limit - 1), { to: "bl-bob" })).recipients, 1);
    const error = await messaging.send("x".repeat(limit), { to: "bl-bob" }).then(() => assert.fail("sent"), (e: unknown) => e);
    assert.ok(error instanceof ConnectError, String(error));
    assert.equal(error.code, Code.InvalidArgument);
    assert.match(error.rawMessage, /at most 16383 fit/);
    assert.equal(errorReasonOf(error), "field_too_large", "the server's reason is kept");
    assert.equal(alice.client.state, "connected");
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
  }
});
