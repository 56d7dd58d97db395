// The server charges a `discover` one token of the message rate per 10 identities (protocol.md §6). The SDK's
// pacer charges the same, so an app asking about 100 users several times at once waits instead of being refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startTestServer } from "../helpers/test-server.js";
import { nodeClient } from "../helpers/werift-sdk.js";

test("several 100-identity discoverUsers at once are paced by their cost, and none is refused", async () => {
  const server = await startTestServer({ VOLLY_MAX_MESSAGES_PER_SECOND: "40", VOLLY_MESSAGE_BURST: "20" });
  try {
    const alice = await nodeClient(server.wsUrl, "pace-alice", "pace");
    await alice.client.connect();
    const identities = Array.from({ length: 100 }, (_, i) => (i === 0 ? "pace-alice" : `pace-nobody-${i}`));
    const answers = await Promise.allSettled(Array.from({ length: 6 }, () => alice.client.discoverUsers(identities)));
    const refused = answers.filter((a) => a.status === "rejected").map((a) => String((a as PromiseRejectedResult).reason));
    assert.deepEqual(refused, []);
    for (const a of answers) {
      if (a.status === "fulfilled") assert.deepEqual([a.value.length, a.value[0]?.online], [100, true]);
    }
    await alice.client.disconnect();
  } finally {
    await server.close();
  }
});
