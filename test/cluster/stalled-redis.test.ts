import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { VollyMessagingClient } from "../../src/client/index.js";
import type { NodeProcess } from "../helpers/node-process.js";
import { RedisServer, redisServerSkip, sleep } from "../helpers/redis.js";
import { nodeClient } from "../helpers/werift-sdk.js";
import { Cluster, join, twoNodesOnOwnRedis } from "./cluster-fixture.js";

// A stalled Redis (SIGSTOP: the connection stays, nothing answers) runs what it has read when it wakes: a
// request that timed out on the node may still take effect. The answer must say so, and the SDK's
// messaging must still deliver each message exactly once.
const skip = redisServerSkip();
const te = new TextEncoder();

describe("a Redis that stalls past the command timeout", { skip }, () => {
  const nodes = twoNodesOnOwnRedis();

  test("a data message that timed out is answered store_timeout (deadline_exceeded), not unavailable; it arrives at most once, in order", async () => {
    const { redis, a, b } = nodes;
    const alice = await join(a, "ws-protobuf", "alice", "stall");
    const bob = await join(b, "ws-protobuf", "bob", "stall");
    await alice.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "bob", 10_000);
    redis.pause();
    try {
      const rid = alice.send({ case: "data", value: { target: "bob", payload: te.encode("in the stall"), id: "s1" } });
      const error = await alice.waitFor("error", (_v, r) => r.requestId === rid, 10_000);
      assert.deepEqual([error.code, error.reason], ["deadline_exceeded", "store_timeout"]);
      assert.equal(error.message, "storage did not answer in time; the request may still take effect");
    } finally {
      redis.unpause();
    }
    // Whether Redis runs the command it had read depends on how far the node got before the timeout (the
    // probe that found this saw such messages delivered): either way, the connection carries on, and if the
    // "failed" message arrives, it arrives once and in order, before the next one.
    alice.send({ case: "data", value: { target: "bob", payload: te.encode("after the stall"), id: "s2" } });
    const ids: string[] = [];
    while (!ids.includes("s2")) ids.push((await bob.waitFor("data", () => true, 15_000)).id);
    assert.ok(["s2", "s1,s2"].includes(ids.join(",")), `bob got ${ids.join(",")}`);
    await alice.leave();
    await bob.leave();
  });

  test("the messaging client sends a message refused by the stall again with its id: delivered once", async () => {
    const { redis, a, b } = nodes;
    const client = async (identity: string, node: NodeProcess) => {
      const { client: c } = await nodeClient(node.httpUrl.replace("http", "ws"), identity, "stall-msg", { requestTimeoutMs: 30_000 });
      await c.connect();
      return c;
    };
    const alice = await client("alice-m", a);
    const bob = await client("bob-m", b);
    try {
      const sender = new VollyMessagingClient({ postQuantumSession: alice.getPostQuantumSession() });
      const receiver = new VollyMessagingClient({ postQuantumSession: bob.getPostQuantumSession() });
      const received: string[] = [];
      receiver.on("message", (m) => received.push(typeof m.body === "string" ? m.body : "bytes"));
      redis.pause();
      const sent = sender.send("through the stall", { to: "bob-m" });
      // Past the node's 3 s command timeout, so the first try is refused (store_timeout) and tried again.
      await sleep(4500);
      redis.unpause();
      const receipt = await sent;
      assert.equal(receipt.recipients, 1);
      await sleep(1500);
      assert.deepEqual(received, ["through the stall"], "exactly once, though the first try was also delivered");
      sender.close();
      receiver.close();
    } finally {
      redis.unpause();
      await alice.disconnect();
      await bob.disconnect();
    }
  });
});


// Requests are processed one at a time, and each waits out the store's timeout while Redis stalls; past 32
// queued the connection stops reading (flow control), so the client's frames, pongs included, wait unread.
// That silence is the server's own: a client that keeps sending must not be cut off as gone.
describe("a client that keeps sending through a long stall", { skip }, () => {
  let redis: RedisServer | undefined;
  let cluster: Cluster | undefined;
  after(async () => {
    redis?.unpause();
    await cluster?.destroy().catch(() => {});
    await redis?.stop();
  });

  test("is not ended with ping_timeout while its requests wait unread", async () => {
    redis = await RedisServer.start();
    cluster = new Cluster(redis.url);
    const node = await cluster.add("solo", { VOLLY_PING_INTERVAL: "1", VOLLY_PING_TIMEOUT: "3" });
    const alice = await join(node, "ws-protobuf", "alice", "long-stall");
    const bob = await join(node, "ws-protobuf", "bob", "long-stall");
    redis.pause();
    try {
      // Twice the ping timeout, a message every 50 ms: the queue passes the pause mark within two seconds.
      for (let i = 0; i < 140; i++) {
        alice.send({ case: "data", value: { target: "bob", payload: te.encode(`m${i}`), id: `m${i}` } });
        await sleep(50);
      }
    } finally {
      redis.unpause();
    }
    const rid = alice.send({ case: "ping", value: { timestamp: 7n } });
    await alice.waitFor("pong", (_v, r) => r.requestId === rid, 60_000);
    const cut = await alice.waitFor("error", (e) => e.reason === "ping_timeout", 500).catch(() => undefined);
    assert.equal(cut, undefined, "alice was ended as silent");
    await alice.leave();
    await bob.leave();
  });
});
