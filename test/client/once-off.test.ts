import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { nextEvent, nodeClient } from "../helpers/werift-sdk.js";

// `once` registers a wrapper; an app removes the listener with the function it passed, as with Node's emitter.

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

test("off(event, fn) removes a listener added with once(event, fn)", async () => {
  const alice = await nodeClient(server.wsUrl, "oo-alice", "once-off");
  const bob = await nodeClient(server.wsUrl, "oo-bob", "once-off");
  try {
    await alice.client.connect();
    let removedCalls = 0;
    let keptCalls = 0;
    const removed = (): void => void removedCalls++;
    const kept = (): void => void keptCalls++;
    alice.client.once("participantJoined", removed);
    alice.client.once("participantJoined", kept);
    alice.client.off("participantJoined", removed);
    assert.equal(alice.client.listenerCount("participantJoined"), 1);
    const joined = nextEvent(alice.client, "participantJoined");
    await bob.client.connect();
    await joined;
    assert.deepEqual([removedCalls, keptCalls], [0, 1]);
    assert.equal(alice.client.listenerCount("participantJoined"), 0);
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
  }
});
