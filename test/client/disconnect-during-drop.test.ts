// `disconnect()` ends the client for good, also when the connection drops while it is leaving: the loss
// must not start a recovery that resumes the participant after `disconnected {client_initiated}` was
// reported (a zombie that others see in the room and that keeps the process alive).
import assert from "node:assert/strict";
import { test } from "node:test";
import { startTestServer } from "../helpers/test-server.js";
import { eventually, nodeClient } from "../helpers/werift-sdk.js";

test("a drop during disconnect() starts no recovery: no reconnect, no second disconnected, no new socket", async () => {
  const server = await startTestServer({ VOLLY_RESUME_WINDOW: "20" });
  try {
    const alice = await nodeClient(server.wsUrl, "zombie-alice", "zombie", {
      reconnect: { maxAttempts: 5, initialDelayMs: 10, maxDelayMs: 20, multiplier: 1, jitter: 0 },
    });
    const events: string[] = [];
    for (const e of ["reconnecting", "reconnected", "disconnected"] as const) alice.client.on(e, (info) => events.push(`${e}:${"reason" in info ? info.reason : ""}`));
    await alice.client.connect();
    // The network drops just as the app leaves: after disconnect() sent its leave, before the server answers.
    const leaving = alice.client.disconnect();
    alice.tap.cut();
    await leaving;
    assert.equal(alice.client.state, "disconnected");
    // A recovery would resume within a few of its 10-20 ms backoffs; give it far longer than that.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual(events, ["disconnected:client_initiated"]);
    assert.equal(alice.client.state, "disconnected");
    assert.equal(alice.tap.opened.length, 1, "no socket was opened after disconnect()");
    // And a later connect() joins afresh, recovering from drops again.
    await alice.client.connect();
    alice.tap.cut();
    await eventually(async () => events.includes("reconnected:"), "the new connection to recover from a drop", 10_000);
    await alice.client.disconnect();
  } finally {
    await server.close();
  }
});
