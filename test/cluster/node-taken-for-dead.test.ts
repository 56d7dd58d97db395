// A node that stops answering long enough is taken for dead and reaped; when it comes back it re-registers
// what it still holds (scale-out.md). Its sessions were counted when they were created: coming back must
// not count them again in the cluster's total_sessions. Real processes: two nodes and Redis; the pause is SIGSTOP.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { eventually } from "../helpers/node-process.js";
import { keysUnder, redisSkip } from "../helpers/redis.js";
import { join, twoNodes } from "./cluster-fixture.js";

const skip = await redisSkip();

describe("a node taken for dead that comes back", { skip }, () => {
  const nodes = twoNodes();

  test("re-registers its sessions without counting them twice", async () => {
    const { cluster, a, b } = nodes;
    const base = await a.stats();
    const alice = await join(a, "ws-protobuf", "alice", "paused");
    const bob = await join(b, "ws-protobuf", "bob", "paused");
    await eventually("both sessions counted", async () => (await a.stats()).active_sessions === base.active_sessions + 2, 10_000);
    const before = await a.stats();
    assert.equal(before.total_sessions, base.total_sessions + 2);
    const sessionKeys = () => keysUnder(cluster.redisUrl, `${cluster.prefix}session:`);
    assert.equal((await sessionKeys()).length, 2);
    b.freeze(true);
    try {
      // The dead-node threshold is 10 s; then a survivor reaps b: its session records are deleted.
      await eventually("b to be reaped", async () => (await sessionKeys()).length === 1, 30_000);
      assert.equal((await a.stats()).active_sessions, base.active_sessions + 1);
    } finally {
      b.freeze(false);
    }
    await eventually("b to re-register its session", async () => (await a.stats()).active_sessions === base.active_sessions + 2, 20_000);
    const after = await a.stats();
    assert.equal(after.total_sessions, before.total_sessions, "no session was created: the total stays");
    await alice.leave();
    await bob.leave().catch(() => {});
  });
});
