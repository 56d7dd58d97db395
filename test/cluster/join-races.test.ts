import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { NodeProcess } from "../helpers/node-process.js";
import { redisSkip, requireRedis } from "../helpers/redis.js";
import { TestClient } from "../helpers/signal-client.js";
import { Cluster, join } from "./cluster-fixture.js";

const skip = await redisSkip();

// The same races as test/core/join-races.test.ts, split over two nodes: the store's scripts decide them.
describe("concurrent joins across two nodes", { skip }, () => {
  const cluster = new Cluster();
  let a: NodeProcess;
  let b: NodeProcess;
  before(async () => {
    await requireRedis(cluster.redisUrl);
    [a, b] = await Promise.all([cluster.add("a", { VOLLY_MAX_PARTICIPANTS: "5" }), cluster.add("b", { VOLLY_MAX_PARTICIPANTS: "5" })]);
  });
  after(() => cluster.destroy());

  test("20 PQ joins at once, half on each node, into a room of at most 5: exactly 5 are admitted", async () => {
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => join(i % 2 === 0 ? a : b, "ws-protobuf", `racer-${i}`, "race-x")));
    const admitted = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    assert.equal(admitted.length, 5);
    assert.deepEqual(admitted.map((c) => c.join?.otherParticipants.length ?? -1).sort(), [0, 1, 2, 3, 4]);
    for (const c of admitted) await c.leave();
  });

  test("the same identity joining on both nodes at once: one connection stays, and the room lists it alone", async () => {
    const results = await Promise.allSettled([a, b, a, b].map((n) => join(n, "ws-protobuf", "same-one", "race-dup")));
    const joined = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    assert.ok(joined.length >= 1);
    // The replaced ones are told DUPLICATE_IDENTITY and closed; wait for the room to settle on one.
    const open: TestClient[] = [];
    for (const c of joined) {
      const closed = await Promise.race([c.channel.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]);
      if (!closed) open.push(c);
    }
    assert.equal(open.length, 1);
    const observer = await join(a, "ws-protobuf", "observer", "race-dup");
    assert.deepEqual(observer.join?.otherParticipants.map((p) => p.sid), [open[0]?.join?.participant?.sid]);
    await observer.leave();
    await open[0]?.leave();
  });
});
