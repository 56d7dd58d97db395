// A node under a restricted Redis ACL user, as operators share a Redis: only the categories docs/operations.md
// lists, its own key and channel prefix, no `@dangerous`. Join, relay, leave and the reaping of a killed
// node run without a denial (ACL LOG) beyond the optional checks the docs name; every line the node prints
// is JSON (ioredis's ready check, whose INFO such a user may not run, printed a plain-text warning); and
// CLIENT LIST tells the nodes' connections apart by node id.
import assert from "node:assert/strict";
import { test } from "node:test";
import { NodeProcess } from "../helpers/node-process.js";
import { eventually } from "../helpers/polling.js";
import { redisServerSkip } from "../helpers/redis.js";
import { OwnRedis } from "../helpers/redis-deployment.js";
import { join, text } from "../cluster/cluster-fixture.js";

/** The user docs/operations.md ("Redis ACL user") gives a node; keep the two in step. */
export const NODE_ACL = ["on", ">volly-acl-pw", "~acl:*", "&acl:*", "-@all", "+@read", "+@write", "+@keyspace", "+@scripting", "+@pubsub", "+@transaction", "+@connection", "+time"];
/** What a node may be refused without harm: its start-up check of `maxmemory-policy` (logged as unchecked). */
const OPTIONAL = new Set(["config|get", "info"]);
const te = new TextEncoder();

function nonJsonLines(output: string): string[] {
  return output.split("\n").filter((line) => {
    if (line.trim() === "") return false;
    try {
      return typeof JSON.parse(line) !== "object";
    } catch {
      return true;
    }
  });
}

test("a node under the documented ACL user: join, relay, leave, reaping with no denial; JSON-only output; connections named by node", { skip: redisServerSkip() }, async (t) => {
  const redis = await OwnRedis.start();
  const nodes: NodeProcess[] = [];
  try {
    await redis.command(["ACL", "SETUSER", "volly", ...NODE_ACL]);
    const env = { REDIS_URL: `redis://volly:volly-acl-pw@127.0.0.1:${redis.port}`, REDIS_PREFIX: "acl:", VOLLY_RESUME_WINDOW: "1" };
    const a = await NodeProcess.start(env, "acl");
    nodes.push(a);
    const b = await NodeProcess.start(env, "acl");
    nodes.push(b);

    const names = String(await redis.command(["CLIENT", "LIST"]));
    for (const n of [a, b]) {
      for (const role of ["store", "bus"]) assert.match(names, new RegExp(`name=volly-${n.nodeId}-${role} `), names);
    }

    const alice = await join(a, "ws-protobuf", "alice", "acl");
    const bob = await join(b, "ws-protobuf", "bob", "acl");
    const carol = await join(b, "ws-protobuf", "carol", "acl");
    alice.send({ case: "data", value: { target: "bob", payload: te.encode("hello"), id: "m1" } });
    assert.equal(text((await bob.waitFor("data", () => true, 10_000)).payload), "hello");
    await bob.leave();
    // b dies with carol on it: a reaps b and carol leaves the room.
    await b.kill();
    await eventually(async () => (await redis.command(["EXISTS", `acl:node:${b.nodeId}`])) === 0 && !String(await redis.command(["HKEYS", "acl:room:acl:sids"])).includes("carol"), "a to reap b", 40_000);
    void carol;
    await alice.leave();

    const log = (await redis.command(["ACL", "LOG"])) as unknown[][];
    const denied = log.map((entry) => {
      const fields = entry as unknown[];
      return `${String(fields[fields.indexOf("reason") + 1])}:${String(fields[fields.indexOf("object") + 1])}`;
    });
    t.diagnostic(`ACL LOG: ${denied.join(", ") || "empty"}`);
    assert.deepEqual(denied.filter((d) => !OPTIONAL.has(d.replace(/^command:/, ""))), [], `ACL denials: ${denied.join(", ")}`);
    assert.deepEqual(nonJsonLines(a.log), [], "every line node a printed is JSON");
  } finally {
    await Promise.all(nodes.map((n) => n.kill()));
    await redis.stop();
  }
});

test("an ACL user without +time (as docs/operations.md once gave it) still runs: the node keeps to its own clock and says so", { skip: redisServerSkip() }, async () => {
  const redis = await OwnRedis.start();
  let node: NodeProcess | undefined;
  try {
    await redis.command(["ACL", "SETUSER", "volly", ...NODE_ACL.filter((rule) => rule !== "+time")]);
    node = await NodeProcess.start({ REDIS_URL: `redis://volly:volly-acl-pw@127.0.0.1:${redis.port}`, REDIS_PREFIX: "acl:" }, "acl-old");
    assert.equal(await node.health(), 200);
    const warnings = node.log.split("\n").filter((line) => line.includes("redis refuses TIME to this user"));
    assert.equal(warnings.length, 1, node.log);
    const alice = await join(node, "ws-protobuf", "alice", "acl-old");
    await alice.leave();
  } finally {
    await node?.kill();
    await redis.stop();
  }
});
