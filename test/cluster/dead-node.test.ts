import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { eventually, type NodeProcess } from "../helpers/node-process.js";
import { redisSkip, requireRedis, withRedis } from "../helpers/redis.js";
import type { TestClient } from "../helpers/signal-client.js";
import { Cluster, join, resume, text } from "./cluster-fixture.js";

const skip = await redisSkip();
const te = new TextEncoder();

const joinedUpdate = (client: TestClient, identity: string) =>
  client.waitFor("participantUpdate", (u) => u.participants[0]?.identity === identity && u.participants[0].state === ParticipantState.JOINED, 10_000);

describe("a node killed with -9", { skip }, () => {
  const cluster = new Cluster();
  let survivor: NodeProcess;

  before(async () => {
    await requireRedis(cluster.redisUrl);
    survivor = await cluster.add("survivor", { VOLLY_EMPTY_TIMEOUT: "1" });
  });
  after(() => cluster.destroy());

  test("its participants disappear from the other nodes' rooms within 10 s, and no ghost remains", async (t) => {
    const victim = await cluster.add("victim", { VOLLY_RESUME_WINDOW: "2" });
    const alice = await join(survivor, "ws-protobuf", "alice", "doomed");
    const victor = await join(victim, "grpc-js", "victor", "doomed");
    const vera = await join(victim, "ws-flat", "vera", "doomed");
    await joinedUpdate(alice, "victor");
    await joinedUpdate(alice, "vera");
    await eventually("3 active sessions", async () => (await survivor.stats()).active_sessions === 3);

    await victim.kill();
    const killedAt = Date.now();
    for (const identity of ["victor", "vera"]) {
      const gone = await alice.waitFor(
        "participantUpdate",
        (u) => u.participants[0]?.identity === identity && u.participants[0].state === ParticipantState.DISCONNECTED,
        12_000,
      );
      assert.ok(gone);
    }
    const elapsed = Date.now() - killedAt;
    t.diagnostic(`participants of the killed node removed ${elapsed} ms after kill -9`);
    assert.ok(elapsed < 10_000, `participants removed ${elapsed} ms after the kill`);
    // Gone from the room is gone from `discover` too (their presence would otherwise last its 30 s).
    alice.send({ case: "discover", value: { identities: ["victor", "vera", "alice"] } });
    const { users } = await alice.waitFor("discover");
    assert.deepEqual(users.map((u) => [u.identity, u.online]), [["victor", false], ["vera", false], ["alice", true]]);
    victor.kill();
    vera.kill();

    await withRedis(cluster.redisUrl, async (redis) => {
      assert.deepEqual(await redis.hkeys(`${cluster.prefix}room:doomed:sids`), ["alice"]);
      assert.deepEqual(await redis.hkeys(`${cluster.prefix}nodes`), [survivor.nodeId], "the dead node is forgotten");
      assert.equal((await redis.keys(`${cluster.prefix}session:*`)).length, 1, "the dead node's sessions ended");
    });
    assert.equal((await survivor.stats()).active_sessions, 1);

    await alice.leave();
    await withRedis(cluster.redisUrl, (redis) =>
      eventually("the empty room to close", async () =>
        (await redis.exists(`${cluster.prefix}room:doomed`)) === 0 && (await redis.sismember(`${cluster.prefix}rooms`, "doomed")) === 0),
    );
  });

  test("a participant of a killed node resumes on another node within the window, with every message", async () => {
    const doomed = await cluster.add("doomed", { VOLLY_RESUME_WINDOW: "30" });
    const alice = await join(survivor, "ws-protobuf", "alice2", "lifeboat");
    const bob = await join(doomed, "ws-flat", "bob2", "lifeboat");
    await joinedUpdate(alice, "bob2");
    alice.send({ case: "data", value: { target: "bob2", payload: te.encode("before-0"), id: "b0" } });
    await bob.waitFor("data", (d) => d.id === "b0", 10_000);
    const sid = bob.join?.participant?.sid ?? "";
    const lastSeen = bob.lastMessageId;

    await doomed.kill();
    bob.kill();
    for (let i = 1; i <= 5; i++) {
      alice.send({ case: "data", value: { target: "bob2", payload: te.encode(`during-${i}`), id: `d${i}` } });
      await alice.waitFor("dataAck", (ack) => ack.id === `d${i}`, 10_000);
    }
    // Wait until a survivor has reaped the dead node: bob2 is now away, resumable until its deadline.
    await withRedis(cluster.redisUrl, (redis) =>
      eventually("the dead node to be reaped", async () => Number(await redis.hget(`${cluster.prefix}participant:${sid}`, "away_until")) > 0),
    );

    const back = await resume(survivor, "grpc-js", "bob2", "lifeboat", sid, lastSeen);
    assert.equal(back.reconnect?.participant?.sid, sid);
    assert.equal(back.reconnect?.lastMessageId, lastSeen);
    const replayed: string[] = [];
    while (replayed.length < 5) replayed.push(text((await back.waitFor("data", () => true, 10_000)).payload));
    assert.deepEqual(replayed, ["during-1", "during-2", "during-3", "during-4", "during-5"]);
    assert.deepEqual(back.messageIds, Array.from({ length: back.messageIds.length }, (_, i) => lastSeen + 1n + BigInt(i)), "ids continue exactly after the last one seen");

    alice.send({ case: "data", value: { target: "bob2", payload: te.encode("after"), id: "a1" } });
    assert.equal(text((await back.waitFor("data", () => true, 10_000)).payload), "after");
    back.send({ case: "data", value: { target: "alice2", payload: te.encode("thanks"), id: "t1" } });
    assert.equal(text((await alice.waitFor("data", (d) => d.id === "t1", 10_000)).payload), "thanks");
    assert.ok(!alice.stash.some((r) => r.message.case === "participantUpdate" && r.message.value.participants[0]?.state === ParticipantState.DISCONNECTED), "the room never saw bob2 leave");
    await withRedis(cluster.redisUrl, async (redis) => {
      assert.equal(await redis.hget(`${cluster.prefix}participant:${sid}`, "node_id"), survivor.nodeId);
      assert.equal(await redis.hget(`${cluster.prefix}participant:${sid}`, "away_until"), "0");
    });
    await back.leave();
    await alice.leave();
  });

  test("a node killed and started again at once under its id: its earlier participants are not reported online", async () => {
    const env = { VOLLY_NODE_ID: "ND_phoenix", VOLLY_RESUME_WINDOW: "30" };
    const first = await cluster.add("phoenix", env);
    const alice = await join(survivor, "ws-protobuf", "alice3", "ashes");
    const carl = await join(first, "ws-protobuf", "carl3", "ashes");
    await joinedUpdate(alice, "carl3");
    await first.kill();
    carl.kill();
    // Started again before its heartbeat lapsed: nobody reaps it, and carl3's presence names a live node.
    await cluster.add("phoenix", env);
    alice.send({ case: "discover", value: { identities: ["carl3"] } });
    const { users } = await alice.waitFor("discover");
    assert.deepEqual(users.map((u) => [u.identity, u.online]), [["carl3", false]]);
    await alice.leave();
  });
});
