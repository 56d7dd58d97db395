// A failover demotes the Redis a node uses (REPLICAOF, as Sentinel or an operator does it). The node must not
// look healthy while every write is refused (READONLY): /healthz 503 and volly_redis_up 0 while its Redis is
// a replica, READONLY in its log; when its URL names an endpoint that moves to the new primary (a proxy, a
// DNS name) it reconnects there and serves again; and it refuses to start on a replica, saying so.
import assert from "node:assert/strict";
import { createServer, connect, type Server, type Socket } from "node:net";
import { describe, test } from "node:test";
import { NodeProcess } from "../helpers/node-process.js";
import { eventually } from "../helpers/polling.js";
import { freePort, redisServerSkip } from "../helpers/redis.js";
import { OwnRedis, redisUpOf, stopAll } from "../helpers/redis-deployment.js";
import { runServer } from "../helpers/server-run.js";
import { join, text } from "./cluster-fixture.js";

const skip = redisServerSkip();
const te = new TextEncoder();

/** A primary and its replica, the replica in sync. */
async function primaryAndReplica(): Promise<{ primary: OwnRedis; replica: OwnRedis }> {
  const primary = await OwnRedis.start();
  const replica = await OwnRedis.start("server", ["--replicaof", "127.0.0.1", String(primary.port)]);
  await eventually(async () => String(await replica.command(["INFO", "replication"])).includes("master_link_status:up"), "the replica to sync", 20_000);
  return { primary, replica };
}

/** Makes `next` the primary and `old` its replica (a switchover). */
async function switchover(old: OwnRedis, next: OwnRedis): Promise<void> {
  await next.command(["REPLICAOF", "NO", "ONE"]);
  await old.command(["REPLICAOF", "127.0.0.1", next.port]);
}

/** A TCP proxy to a target that can be changed: new connections go to the new target, open ones stay. */
async function proxy(target: () => number): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target(), "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("a Redis demoted by a failover", { skip, concurrency: false }, () => {
  test("a node whose URL names the demoted server: /healthz 503, volly_redis_up 0, READONLY logged; healthy again when it is primary again", async () => {
    const { primary, replica } = await primaryAndReplica();
    let node: NodeProcess | undefined;
    try {
      node = await NodeProcess.start({ REDIS_URL: primary.url, REDIS_PREFIX: "fo1:" }, "fo");
      const n = node;
      assert.equal(await redisUpOf(n.apiUrl), 1);
      await switchover(primary, replica);
      await eventually(async () => (await n.health()) === 503, "/healthz 503 on a replica", 20_000);
      await eventually(async () => (await redisUpOf(n.apiUrl)) === 0, "volly_redis_up 0 on a replica", 20_000);
      await eventually(async () => /READONLY/.test(n.log), "READONLY in the node's log", 20_000);

      await switchover(replica, primary);
      await eventually(async () => (await n.health()) === 200, "/healthz 200 once it is primary again", 20_000);
      await eventually(async () => (await redisUpOf(n.apiUrl)) === 1, "volly_redis_up 1 once it is primary again", 20_000);
    } finally {
      await node?.kill();
      await stopAll([replica, primary]);
    }
  });

  test("a node behind an endpoint that moves to the new primary reconnects on READONLY: relay works again", async () => {
    const { primary, replica } = await primaryAndReplica();
    let target = primary.port;
    const endpoint = await proxy(() => target);
    let node: NodeProcess | undefined;
    try {
      node = await NodeProcess.start({ REDIS_URL: `redis://127.0.0.1:${endpoint.port}`, REDIS_PREFIX: "fo2:" }, "fo");
      const n = node;
      const alice = await join(n, "ws-protobuf", "alice", "fo");
      const bob = await join(n, "ws-protobuf", "bob", "fo");
      alice.send({ case: "data", value: { target: "bob", payload: te.encode("before"), id: "m0" } });
      assert.equal(text((await bob.waitFor("data", () => true, 10_000)).payload), "before");

      await switchover(primary, replica);
      target = replica.port;
      let i = 0;
      await eventually(async () => {
        const id = `m${++i}`;
        alice.send({ case: "data", value: { target: "bob", payload: te.encode(id), id } });
        return bob.waitFor("data", (d) => d.id === id, 2000).then(() => true, () => false);
      }, "a message relayed after the failover", 30_000);
      await eventually(async () => (await n.health()) === 200, "/healthz 200 on the new primary", 20_000);
      assert.equal(await redisUpOf(n.apiUrl), 1);
      await alice.leave();
      await bob.leave();
    } finally {
      await node?.kill();
      await endpoint.close();
      await stopAll([replica, primary]);
    }
  });

  test("a node does not start on a replica: the fatal line names the (redacted) URL and says it is a read-only replica", async () => {
    const { primary, replica } = await primaryAndReplica();
    try {
      const url = `redis://:hunter2@127.0.0.1:${replica.port}`;
      await replica.command(["CONFIG", "SET", "requirepass", "hunter2"]);
      const run = await runServer({ REDIS_URL: url });
      assert.equal(run.code, 1, run.output);
      assert.match(run.output, new RegExp(`start-up failed: Redis at redis://\\*\\*\\*@127\\.0\\.0\\.1:${replica.port} is a read-only replica`));
      assert.doesNotMatch(run.output, /hunter2/);
    } finally {
      await stopAll([replica, primary]);
    }
  });
});
