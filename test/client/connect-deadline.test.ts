import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Code, ConnectError } from "../../src/client/index.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { nodeClient } from "../helpers/werift-sdk.js";

// `connectTimeoutMs` is one deadline for opening, the handshake and the join together: an attempt that opens
// and then hears nothing must not get a second allowance for the rest.

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

test("a join that is never answered fails after connectTimeoutMs, not twice that", async () => {
  // A plaintext client and a post-quantum server: the socket opens, and the server waits for a handshake.
  const alice = await nodeClient(server.wsUrl, "cd-alice", "connect-deadline", { postQuantum: false, connectTimeoutMs: 1000, reconnect: false });
  const started = Date.now();
  const error = await alice.client.connect().then(() => assert.fail("connected"), (e: unknown) => e);
  const elapsed = Date.now() - started;
  assert.ok(error instanceof ConnectError, String(error));
  assert.equal(error.code, Code.DeadlineExceeded, error.message);
  assert.ok(elapsed >= 950 && elapsed < 1500, `took ${elapsed} ms`);
  assert.equal(alice.client.state, "disconnected");
});
