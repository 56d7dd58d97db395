// A node's wall clock that steps mid-run (NTP stepping it, a VM resumed): the node's own schedule (its
// heartbeats, its connections' ping timeouts) is on the monotonic clock, so a step back does not stop its
// heartbeats (it was reaped while serving, and its participants announced as gone) and a step forward is not
// silence (every connection was dropped for "ping timeout"). Real processes on Redis; the stepping node's
// clock is libfaketime's, re-read from a file.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { faketimeSkip, SteppableClock, wallClockOffsetSeconds } from "../helpers/faketime.js";
import { eventually, NodeProcess } from "../helpers/node-process.js";
import { redisSkip, requireRedis, sleep, withRedis } from "../helpers/redis.js";
import { TestClient } from "../helpers/signal-client.js";
import { Cluster, join } from "./cluster-fixture.js";

const skip = (await redisSkip()) || faketimeSkip();

/** `discover` of `identities` through `client`'s node: each one's `online`. */
async function online(client: TestClient, identities: string[]): Promise<boolean[]> {
  client.send({ case: "discover", value: { identities } });
  const { users } = await client.waitFor("discover");
  return users.map((u) => u.online);
}

/** What `client` was sent so far that says a participant left, or that its own connection ends. */
function departures(client: TestClient): string[] {
  return [...client.stash, ...client.inbox.pending()].flatMap((r) => {
    if (r.message.case === "leave") return [`leave ${r.message.value.message}`];
    if (r.message.case !== "participantUpdate") return [];
    return r.message.value.participants.filter((p) => p.state === ParticipantState.DISCONNECTED).map((p) => `${p.identity} left`);
  });
}

/** Steps `node`'s clock to `offset` and waits until its wall clock shows it (seconds). */
async function stepClock(clock: SteppableClock, node: NodeProcess, offset: string, seconds: number): Promise<void> {
  clock.step(offset);
  await eventually(`the node's clock to read ${offset}`, async () => Math.abs((await wallClockOffsetSeconds(node.httpUrl)) - seconds) <= 2, 5000, 200);
}

describe("a node whose clock steps back 30 s", { skip }, () => {
  // A short resume window: the old code announced the departures 6 s (reaping) + the window after the step.
  const env = { VOLLY_RESUME_WINDOW: "5" };
  const clock = new SteppableClock();
  const cluster = new Cluster();
  let stepping: NodeProcess;
  let steady: NodeProcess;

  before(async () => {
    await requireRedis(cluster.redisUrl);
    [stepping, steady] = await Promise.all([cluster.add("stepping", { ...env, ...clock.env }), cluster.add("steady", env)]);
  });
  after(async () => {
    await cluster.destroy();
    clock.dispose();
  });

  test("keeps heartbeating: it is not reaped and its participants are not announced as gone", async () => {
    const room = "stepped-back";
    const bob = await join(steady, "ws-protobuf", "bob", room);
    const alice = await join(stepping, "ws-protobuf", "alice", room);
    await bob.waitFor("participantUpdate", (u) => u.participants.some((p) => p.identity === "alice" && p.state === ParticipantState.JOINED), 10_000);
    await stepClock(clock, stepping, "-30s", -30);

    // 15 s: past the 6 s a lapsed heartbeat takes to be found and the 5 s resume window after it.
    const watchUntil = Date.now() + 15_000;
    while (Date.now() < watchUntil) {
      assert.deepEqual(await online(bob, ["alice", "bob"]), [true, true], "discover on the steady node");
      assert.deepEqual(await online(alice, ["alice", "bob"]), [true, true], "discover on the stepped node");
      await sleep(1000);
    }
    assert.deepEqual(departures(bob), [], "bob was told of no departure");
    assert.deepEqual(departures(alice), [], "alice was told of no departure");
    await withRedis(cluster.redisUrl, async (r) => {
      assert.equal(await r.exists(`${cluster.prefix}node:${stepping.nodeId}`), 1, "the stepped node is alive in the store");
      assert.deepEqual((await r.hkeys(`${cluster.prefix}room:${room}:sids`)).sort(), ["alice", "bob"]);
    });
    assert.doesNotMatch(steady.log, /dead node reaped/);
    assert.doesNotMatch(stepping.log, /lost this node/);
    await alice.leave();
    await bob.leave();
  });
});

describe("a node whose clock jumps forward 30 s", { skip }, () => {
  const clock = new SteppableClock();
  const cluster = new Cluster();
  let jumping: NodeProcess;

  before(async () => {
    await requireRedis(cluster.redisUrl);
    jumping = await cluster.add("jumping", clock.env);
  });
  after(async () => {
    await cluster.destroy();
    clock.dispose();
  });

  test("keeps its connections: a jump is not silence (no ping timeout)", async () => {
    const alice = await join(jumping, "ws-protobuf", "alice", "jumped");
    const bob = await join(jumping, "grpc-js", "bob", "jumped");
    let closed = false;
    void alice.channel.closed.then(() => (closed = true));
    // The ping timeout is 15 s: a 30 s jump looked like 30 s without a message at the next tick (1 s).
    await stepClock(clock, jumping, "+30s", 30);
    await sleep(4000);
    assert.deepEqual(departures(alice), [], "alice was not told to leave");
    assert.deepEqual(departures(bob), [], "bob was not told to leave");
    assert.equal(closed, false, "alice's connection is open");
    assert.deepEqual(await online(alice, ["alice", "bob"]), [true, true]);
    assert.deepEqual(await online(bob, ["alice", "bob"]), [true, true]);
    await alice.leave();
    await bob.leave();
  });
});

// Without Redis the reference is the host's wall clock. A node started before NTP corrected its clock (a VM
// booted with a wrong RTC) used to keep the error for its whole life in every time it reported.
describe("a memory node started with its clock a day behind, then corrected", { skip: faketimeSkip() }, () => {
  const clock = new SteppableClock();
  let node: NodeProcess;

  before(async () => {
    clock.step("-1d");
    node = await NodeProcess.start({ ...clock.env, VOLLY_PQ_ENABLED: "false" }, "memclock");
  });
  after(async () => {
    await node?.kill();
    clock.dispose();
  });

  test("follows the correction within a heartbeat, and says so", async () => {
    assert.ok(Math.abs((await wallClockOffsetSeconds(node.httpUrl)) + 86_400) <= 2, "the node started a day behind");
    // A token good on both clocks: minted here, checked on the node's clock a day behind, then on the true one.
    const token = { nbf: Math.floor(Date.now() / 1000) - 2 * 86_400 };
    const before = await TestClient.connect({ kind: "ws-protobuf", port: node.port, identity: "early", room: "memclock", pq: false, token });
    const behind = Number(before.join?.participant?.joinedAt ?? 0n) - Date.now();
    assert.ok(Math.abs(behind + 86_400_000) < 5000, `joined_at a day behind at first (${behind} ms)`);
    await stepClock(clock, node, "+0s", 0);
    await eventually("the node to log the step", async () => /cluster clock re-anchored to this host's wall clock by a large step/.test(node.log), 5000, 200);
    const after = await TestClient.connect({ kind: "ws-protobuf", port: node.port, identity: "late", room: "memclock", pq: false, token });
    const off = Number(after.join?.participant?.joinedAt ?? 0n) - Date.now();
    assert.ok(Math.abs(off) < 5000, `joined_at on the corrected clock (${off} ms off)`);
    await before.leave();
    await after.leave();
  });
});
