// VOLLY_PQ_REKEY_GRACE=0 is valid: the server then closes a channel whose keys are older than the rekey
// interval, timed from when it verified `pq_finished` or answered a rekey. The SDK must rekey in time however
// long the network takes: timed from when the answer *arrives*, each interval would be a round trip late on the
// server's clock, and with a 300 ms round trip against 1 s ticks the server cuts the channel within a few
// intervals (`leave {REKEY_REQUIRED}`).
import assert from "node:assert/strict";
import { test } from "node:test";
import { slowLinkWebSocket } from "../helpers/slow-link.js";
import { startTestServer } from "../helpers/test-server.js";
import { nodeClient, until } from "../helpers/werift-sdk.js";

test("rekey interval 1 s, grace 0, 150 ms each way, steady traffic: the SDK is never cut for a late rekey", async () => {
  const server = await startTestServer({ VOLLY_PQ_REKEY_INTERVAL: "1", VOLLY_PQ_REKEY_GRACE: "0", VOLLY_PQ_SESSION_TIMEOUT: "3600" });
  const alice = await nodeClient(server.wsUrl, "g0-alice", "grace-zero", { webSocket: slowLinkWebSocket(150) });
  const bob = await nodeClient(server.wsUrl, "g0-bob", "grace-zero");
  const cuts: string[] = [];
  alice.client.on("reconnecting", ({ reason }) => cuts.push(reason));
  let rekeys = 0;
  alice.client.on("rekeyed", () => rekeys++);
  let received = 0;
  alice.client.on("data", () => received++);
  let sent = 0;
  let sending = true;
  try {
    await alice.client.connect();
    await bob.client.connect();
    const traffic = (async () => {
      while (sending) {
        await bob.client.sendData(`m-${sent++}`, { target: "g0-alice" });
        await alice.client.sendData("back", { target: "g0-bob" }).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    // Eight intervals: late rekeys are caught by the server's 1 s tick within four (the phase moves 300 ms each).
    const started = Date.now();
    await until(() => Date.now() - started > 8000 || cuts.length > 0, "eight rekey intervals", 20_000);
    sending = false;
    await traffic;
    assert.deepEqual(cuts, [], "no reconnecting (rekey_required)");
    assert.equal(alice.client.state, "connected");
    assert.ok(rekeys > 0, "the SDK rekeyed over the slow link (the server enforced the rest)");
    await until(() => received === sent, "all messages arrived");
  } finally {
    sending = false;
    await alice.client.disconnect();
    await bob.client.disconnect();
    await server.close();
  }
});
