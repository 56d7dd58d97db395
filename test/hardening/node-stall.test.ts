import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { NodeProcess } from "../helpers/node-process.js";
import { sleep } from "../helpers/redis.js";
import { TestClient } from "../helpers/signal-client.js";

// A node that stops for longer than the ping timeout (a long GC, a busy burst, a VM paused by its host)
// finds, when it runs again, everything its clients sent meanwhile waiting in its sockets. The ping timeout
// must judge them by that, not by the time since the node last looked: its silence is not theirs.
describe("a node that stalls for longer than the ping timeout", () => {
  let node: NodeProcess;
  before(async () => {
    node = await NodeProcess.start({ VOLLY_PING_INTERVAL: "1", VOLLY_PING_TIMEOUT: "2", VOLLY_PQ_ENABLED: "false" }, "stall");
  });
  after(() => node.kill());

  test("does not end the clients that kept talking through the stall", async () => {
    const alice = await TestClient.connect({ kind: "ws-protobuf", port: node.port, identity: "alice", room: "stall", pq: false });
    for (let round = 0; round < 3; round++) {
      node.freeze(true);
      try {
        // Twice the ping timeout, a ping every 250 ms: all of them wait, unread, in the node's socket.
        for (let i = 0; i < 16; i++) {
          alice.send({ case: "ping", value: { timestamp: BigInt(i) } });
          await sleep(250);
        }
      } finally {
        node.freeze(false);
      }
      const rid = alice.send({ case: "ping", value: { timestamp: 99n } });
      await alice.waitFor("pong", (_p, r) => r.requestId === rid, 10_000);
      const cut = await alice.waitFor("error", (e) => e.reason === "ping_timeout", 1500).catch(() => undefined);
      assert.equal(cut, undefined, `round ${round}: alice was ended as silent`);
    }
    await alice.leave();
  });
});
