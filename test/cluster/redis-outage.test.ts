import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { eventually } from "../helpers/node-process.js";
import { redisServerSkip, sleep, withRedis } from "../helpers/redis.js";
import type { TestClient } from "../helpers/signal-client.js";
import { join, twoNodesOnOwnRedis, text } from "./cluster-fixture.js";

// This suite runs a Redis of its own (it stops and restarts it), so it needs the redis-server binary.
const skip = redisServerSkip();
const te = new TextEncoder();
const OUTAGE_MS = 30_000;

/** Pings every 3 s, like real clients, so liveness never ends a connection during the outage. */
function keepAlive(clients: TestClient[]): () => void {
  const timer = setInterval(() => {
    for (const c of clients) c.send({ case: "ping", value: { timestamp: BigInt(Date.now()) } });
  }, 3000);
  return () => clearInterval(timer);
}

describe("Redis stops for 30 s and comes back empty", { skip }, () => {
  const nodes = twoNodesOnOwnRedis();

  test("nodes keep their connections, answer 503 meanwhile, then recover: rooms, relay and new joins work", async (t) => {
    const { redis, cluster, a, b } = nodes;
    const alice = await join(a, "ws-protobuf", "alice", "storm");
    const bob = await join(b, "grpc-js", "bob", "storm");
    await alice.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "bob", 10_000);
    alice.send({ case: "data", value: { target: "bob", payload: te.encode("before"), id: "x0" } });
    assert.equal(text((await bob.waitFor("data", () => true, 10_000)).payload), "before");
    const stopPings = keepAlive([alice, bob]);
    try {
      await redis.stop();
      const downAt = Date.now();
      await eventually("both nodes to report unhealthy", async () => (await a.health()) === 503 && (await b.health()) === 503, 10_000);
      t.diagnostic(`/healthz 503 on both nodes ${Date.now() - downAt} ms after Redis stopped`);

      // Commands fail fast and the connection stays: the sender gets an `unavailable` error.
      const sentAt = Date.now();
      const rid = alice.send({ case: "data", value: { target: "bob", payload: te.encode("lost"), id: "x1" } });
      const error = await alice.waitFor("error", (_v, r) => r.requestId === rid, 10_000).catch((e: unknown) => {
        throw new Error(`${String(e)}; got ${JSON.stringify(alice.stash.map((r) => [r.requestId, r.message.case, r.message.value]), (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`);
      });
      assert.equal(error.code, "unavailable");
      assert.ok(Date.now() - sentAt < 4000, "fails fast");
      // The session stats need the store: unavailable, 503 with the catalogue's words, not a 500.
      const stats = await fetch(`${a.apiUrl}/volly/sessions/stats`, { signal: AbortSignal.timeout(5000) });
      assert.deepEqual([stats.status, await stats.text()], [503, "storage is unavailable, try again"]);

      while (Date.now() - downAt < OUTAGE_MS) {
        assert.equal(await a.health(), 503);
        assert.equal(await b.health(), 503);
        for (const c of [alice, bob]) {
          const pid = c.send({ case: "ping", value: { timestamp: 7n } });
          await c.waitFor("pong", (_v, r) => r.requestId === pid, 10_000);
        }
        await sleep(2000);
      }
      await redis.start();
      const upAt = Date.now();
      await eventually("both nodes to be healthy again", async () => (await a.health()) === 200 && (await b.health()) === 200, 20_000);
      t.diagnostic(`/healthz 200 on both nodes ${Date.now() - upAt} ms after Redis restarted`);

      // Everything the nodes hold is back in the (empty) Redis.
      await withRedis(redis.url, (r) =>
        eventually("the room and its participants to be re-registered", async () =>
          (await r.hkeys(`${cluster.prefix}room:storm:sids`)).sort().join() === "alice,bob" &&
          (await r.keys(`${cluster.prefix}session:*`)).length === 2 &&
          (await r.exists(`${cluster.prefix}node:${a.nodeId}`, `${cluster.prefix}node:${b.nodeId}`)) === 2, 20_000),
      );
      t.diagnostic(`re-registered ${Date.now() - upAt} ms after Redis restarted`);
      for (const n of [a, b]) assert.equal((await n.stats()).active_sessions, 2);

      // Relay works both ways, with ids that keep increasing for the connected clients.
      const bobLast = bob.lastMessageId;
      alice.send({ case: "data", value: { target: "bob", payload: te.encode("after"), id: "x2" } });
      const got = await bob.waitFor("data", (d) => d.id === "x2", 10_000);
      assert.equal(text(got.payload), "after");
      assert.ok(bob.lastMessageId > bobLast);
      bob.send({ case: "data", value: { target: "alice", payload: te.encode("welcome back"), id: "y1" } });
      assert.equal(text((await alice.waitFor("data", (d) => d.id === "y1", 10_000)).payload), "welcome back");

      // New joins work, on either node, and see everyone.
      const carol = await join(a, "ws-flat", "carol", "storm");
      assert.deepEqual(carol.join?.otherParticipants.map((p) => p.identity).sort(), ["alice", "bob"]);
      await bob.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "carol" && u.participants[0].state === ParticipantState.JOINED, 10_000);
      const dave = await join(b, "ws-protobuf", "dave", "storm");
      assert.equal(dave.join?.otherParticipants.length, 3);
      const did = carol.send({ case: "discover", value: { identities: ["alice", "bob", "carol", "dave"] } });
      assert.deepEqual((await carol.waitFor("discover", (_v, r) => r.requestId === did, 10_000)).users.map((u) => u.online), [true, true, true, true]);
      await Promise.all([carol.leave(), dave.leave()]);
    } finally {
      stopPings();
    }
    await Promise.all([alice.leave(), bob.leave()]);
  });

  test("a participant whose connection drops during the outage is announced as gone once Redis is back empty", async () => {
    const { redis, a, b } = nodes;
    const alice = await join(a, "ws-protobuf", "ghost-alice", "ghost");
    const bob = await join(b, "ws-protobuf", "ghost-bob", "ghost");
    await alice.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "ghost-bob", 10_000);
    const bobSid = bob.join?.participant?.sid;
    const stopPings = keepAlive([alice]);
    try {
      await redis.stop();
      await eventually("b to report unhealthy", async () => (await b.health()) === 503, 10_000);
      // The socket drops: b cannot write the drop, and the empty Redis will not have bob at all.
      bob.kill();
      await sleep(2000);
      await redis.start();
      const gone = await alice.waitFor(
        "participantUpdate",
        (u) => u.participants[0]?.identity === "ghost-bob" && u.participants[0].state === ParticipantState.DISCONNECTED,
        30_000,
      );
      assert.equal(gone.participants[0]?.sid, bobSid);
    } finally {
      stopPings();
    }
    await alice.leave();
  });
});
