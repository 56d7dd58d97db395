// Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_NAME): nodes ask the Sentinels for the primary, and after a
// failover (SENTINEL FAILOVER) they follow the new primary, so relay keeps working.
import assert from "node:assert/strict";
import { test } from "node:test";
import { NodeProcess } from "../helpers/node-process.js";
import { eventually } from "../helpers/polling.js";
import { redisServerSkip } from "../helpers/redis.js";
import { OwnRedis, stopAll } from "../helpers/redis-deployment.js";
import { join, text } from "./cluster-fixture.js";

const te = new TextEncoder();

test("two nodes through Sentinel: they join, relay, and follow the new primary after SENTINEL FAILOVER", { skip: redisServerSkip() }, async () => {
  const primary = await OwnRedis.start();
  const replica = await OwnRedis.start("server", ["--replicaof", "127.0.0.1", String(primary.port)]);
  const sentinel = await OwnRedis.start("sentinel");
  const nodes: NodeProcess[] = [];
  try {
    await sentinel.command(["SENTINEL", "MONITOR", "m", "127.0.0.1", primary.port, 1]);
    await sentinel.command(["SENTINEL", "SET", "m", "down-after-milliseconds", 1000, "failover-timeout", 5000]);
    await eventually(async () => String(await replica.command(["INFO", "replication"])).includes("master_link_status:up"), "the replica to sync", 20_000);
    // Sentinel learns of replicas from the primary's INFO, every 10 s at first.
    await eventually(async () => JSON.stringify(await sentinel.command(["SENTINEL", "REPLICAS", "m"])).includes(`"${replica.port}"`), "Sentinel to know the replica", 30_000);

    const env = { REDIS_SENTINELS: `127.0.0.1:${sentinel.port}`, REDIS_SENTINEL_NAME: "m", REDIS_PREFIX: "sentinel:" };
    nodes.push(await NodeProcess.start(env, "sn"), await NodeProcess.start(env, "sn"));
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    const alice = await join(a, "ws-protobuf", "alice", "sentinel");
    const bob = await join(b, "ws-protobuf", "bob", "sentinel");
    alice.send({ case: "data", value: { target: "bob", payload: te.encode("before"), id: "m0" } });
    assert.equal(text((await bob.waitFor("data", () => true, 10_000)).payload), "before");

    await sentinel.command(["SENTINEL", "FAILOVER", "m"]);
    await eventually(async () => JSON.stringify(await sentinel.command(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "m"])).includes(`"${replica.port}"`), "the failover", 30_000);
    let i = 0;
    await eventually(async () => {
      const id = `m${++i}`;
      alice.send({ case: "data", value: { target: "bob", payload: te.encode(id), id } });
      return bob.waitFor("data", (d) => d.id === id, 2000).then(() => true, () => false);
    }, "a message relayed after the failover", 40_000);
    await eventually(async () => (await a.health()) === 200 && (await b.health()) === 200, "both nodes healthy on the new primary", 20_000);
    // The nodes write to the new primary: their heartbeats are there.
    await eventually(async () => (await replica.command(["EXISTS", `sentinel:node:${a.nodeId}`, `sentinel:node:${b.nodeId}`])) === 2, "heartbeats on the new primary", 20_000);
    await alice.leave();
    await bob.leave();
  } finally {
    await Promise.all(nodes.map((n) => n.kill()));
    await stopAll([sentinel, replica, primary]);
  }
});
