// A node's network link to Redis failing the ways networks do, through a TCP proxy of the test's own: a
// half-open link (nothing comes back, the sockets stay open) must not wedge the node for good, and a message
// published while the receiving node's subscriber was cut must still reach its recipient without waiting for
// another message to reveal the gap.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { eventually, type NodeProcess } from "../helpers/node-process.js";
import { deletePrefix, REDIS_URL, redisSkip, requireRedis, uniquePrefix } from "../helpers/redis.js";
import { Cluster, join, text } from "./cluster-fixture.js";

const skip = await redisSkip();
const te = new TextEncoder();

describe("a node's link to Redis", { skip }, () => {
  let proxy: FaultProxy;
  const cluster = new Cluster(REDIS_URL, uniquePrefix("link"));
  let a: NodeProcess;
  let b: NodeProcess;
  before(async () => {
    await requireRedis(REDIS_URL);
    proxy = await FaultProxy.start(Number(new URL(REDIS_URL).port || 6379));
    a = await cluster.add("a");
    // b reaches Redis through the proxy; a directly.
    b = await cluster.add("b", { REDIS_URL: proxy.url });
  });
  after(async () => {
    await cluster.destroy();
    await proxy?.close();
    await deletePrefix(REDIS_URL, cluster.prefix);
  });

  test("half-open for good: the node says 503, gives the dead connections up, and works again on new ones", async () => {
    const alice = await join(a, "ws-protobuf", "alice", "half-open");
    const bob = await join(b, "ws-protobuf", "bob", "half-open");
    // b's connections to Redis stay open, but nothing gets through them again; new ones would.
    proxy.strand();
    await eventually("b to answer 503", async () => (await b.health()) === 503, 10_000);
    await eventually("b to answer 200 again, on new connections", async () => (await b.health()) === 200, 30_000);
    alice.send({ case: "data", value: { target: "bob", payload: te.encode("after"), id: "h1" } });
    assert.equal(text((await bob.waitFor("data", (d) => d.id === "h1", 10_000)).payload), "after");
    bob.send({ case: "data", value: { target: "alice", payload: te.encode("back"), id: "h2" } });
    assert.equal(text((await alice.waitFor("data", (d) => d.id === "h2", 10_000)).payload), "back");
    alice.kill();
    bob.kill();
  });

  test("a message published while the recipient node's subscriber was cut arrives by itself once it is back", async () => {
    const alice = await join(a, "ws-protobuf", "alice2", "sub-cut");
    const bob = await join(b, "ws-protobuf", "bob2", "sub-cut");
    alice.send({ case: "data", value: { target: "bob2", payload: te.encode("m1"), id: "m1" } });
    await bob.waitFor("data", (d) => d.id === "m1", 10_000);
    // Cut b's connections and hold new ones for a moment: m2 is published while b subscribes to nothing.
    proxy.hold(true);
    proxy.reset();
    alice.send({ case: "data", value: { target: "bob2", payload: te.encode("m2"), id: "m2" } });
    assert.equal((await alice.waitFor("dataAck", (ack) => ack.id === "m2", 10_000)).recipients, 1);
    await new Promise((r) => setTimeout(r, 1500));
    proxy.hold(false);
    // Nothing else is sent to bob2: m2 must come without a later message revealing the gap.
    assert.equal(text((await bob.waitFor("data", (d) => d.id === "m2", 15_000)).payload), "m2");
    alice.kill();
    bob.kill();
  });
});
