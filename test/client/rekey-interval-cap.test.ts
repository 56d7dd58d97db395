import assert from "node:assert/strict";
import { test } from "node:test";
import { startTestServer } from "../helpers/test-server.js";
import { nodeClient, until } from "../helpers/werift-sdk.js";

// The server closes a channel that has not rekeyed within its interval plus grace, so a `rekeyIntervalMs`
// longer than the server's interval would cost a resume every interval: the SDK rekeys at the shorter one.

test("a rekeyIntervalMs above the server's interval rekeys at the server's and is never cut off", async () => {
  const strict = await startTestServer({ VOLLY_PQ_REKEY_INTERVAL: "1", VOLLY_PQ_REKEY_GRACE: "1" });
  const alice = await nodeClient(strict.wsUrl, "ri-alice", "rekey-cap", { rekeyIntervalMs: 60_000 });
  try {
    await alice.client.connect();
    const events: string[] = [];
    alice.client.on("reconnecting", ({ reason }) => events.push(`reconnecting ${reason}`));
    alice.client.on("rekeyed", () => events.push("rekeyed"));
    await until(() => alice.client.getPostQuantumSession().rekeys >= 3, "three rekeys at the server's interval", 10_000);
    assert.deepEqual(events, ["rekeyed", "rekeyed", "rekeyed"]);
    assert.equal(alice.client.state, "connected");
  } finally {
    await alice.client.disconnect();
    await strict.close();
  }
});
