// Node clocks that disagree: everything stored or judged across nodes (presence, resume windows, empty-room
// timeouts) is on the cluster's clock, Redis's `TIME`, so a node whose own clock is off by tens of seconds
// neither reports connected users offline (deleting their presence for every node) nor cuts another node's
// deadlines short (docs/scale-out.md, "Clocks"). Real processes on Redis, one node's wall clock shifted with
// libfaketime.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { faketimeSkip, skewedClockEnv, wallClockOffsetSeconds } from "../helpers/faketime.js";
import { eventually, type NodeProcess } from "../helpers/node-process.js";
import { redisSkip, requireRedis, sleep, withRedis } from "../helpers/redis.js";
import type { TestClient } from "../helpers/signal-client.js";
import { Cluster, join, resume } from "./cluster-fixture.js";

const skip = (await redisSkip()) || faketimeSkip();

/** `discover` of `identities` through `client`'s node: each one's `online`. */
async function online(client: TestClient, identities: string[]): Promise<boolean[]> {
  client.send({ case: "discover", value: { identities } });
  const { users } = await client.waitFor("discover");
  return users.map((u) => u.online);
}

/** Whether `client` has been told that `identity` left (a DISCONNECTED participant update). */
function toldLeft(client: TestClient, identity: string): boolean {
  return [...client.stash, ...client.inbox.pending()].some(
    (r) => r.message.case === "participantUpdate" && r.message.value.participants.some((p) => p.identity === identity && p.state === ParticipantState.DISCONNECTED),
  );
}

describe("a node whose clock is 30 s ahead", { skip }, () => {
  const cluster = new Cluster();
  let truth: NodeProcess;
  let ahead: NodeProcess;

  before(async () => {
    await requireRedis(cluster.redisUrl);
    [truth, ahead] = await Promise.all([cluster.add("true"), cluster.add("ahead", skewedClockEnv("+30s"))]);
    const offset = await wallClockOffsetSeconds(ahead.httpUrl);
    assert.ok(Math.abs(offset - 30) <= 2, `the node's wall clock is ${offset} s off, not 30 s: libfaketime did not take`);
  });
  after(() => cluster.destroy());

  test("reports a connected user online, as every other node does", async () => {
    const alice = await join(truth, "ws-protobuf", "alice", "skewed-presence");
    const bob = await join(ahead, "ws-protobuf", "bob", "skewed-presence");
    // A few rounds over several seconds: a discover on the node ahead once deleted the entry for every node.
    for (let round = 0; round < 6; round++) {
      assert.deepEqual(await online(bob, ["alice", "bob"]), [true, true], `discover on the node ahead, round ${round}`);
      assert.deepEqual(await online(alice, ["alice", "bob"]), [true, true], `discover on the node on time, round ${round}`);
      await sleep(500);
    }
    await alice.leave();
    await bob.leave();
  });
});

describe("the cleanup on a node whose clock is 10 s ahead", { skip }, () => {
  // Short timeouts keep the test short: 12 s, more than the skew, so that the old behaviour (deadlines cut by
  // the skew) shows inside them.
  const timeouts = { VOLLY_RESUME_WINDOW: "12", VOLLY_EMPTY_TIMEOUT: "12" };
  const cluster = new Cluster();
  let truth: NodeProcess;
  let ahead: NodeProcess;

  before(async () => {
    await requireRedis(cluster.redisUrl);
    [truth, ahead] = await Promise.all([cluster.add("true", timeouts), cluster.add("ahead", { ...timeouts, ...skewedClockEnv("+10s") })]);
    const offset = await wallClockOffsetSeconds(ahead.httpUrl);
    assert.ok(Math.abs(offset - 10) <= 2, `the node's wall clock is ${offset} s off, not 10 s: libfaketime did not take`);
  });
  after(() => cluster.destroy());

  test("keeps a dropped participant resumable and an empty room open for their whole timeouts", async () => {
    const room = "skewed-sweep";
    const bob = await join(ahead, "ws-protobuf", "bob", room);
    const alice = await join(truth, "ws-protobuf", "alice", room);
    const sid = alice.join?.participant?.sid ?? "";
    await bob.waitFor("participantUpdate", (u) => u.participants.some((p) => p.identity === "alice" && p.state === ParticipantState.JOINED), 10_000);
    // A room left empty by the node on time, and a participant dropped there (no leave): both deadlines are
    // written from that node, then judged by the node ahead, the only one left to sweep.
    const carol = await join(truth, "ws-protobuf", "carol", "skewed-empty");
    await carol.leave();
    alice.kill();
    await alice.channel.closed;
    const awayUntil = () => withRedis(cluster.redisUrl, (r) => r.hget(`${cluster.prefix}participant:${sid}`, "away_until"));
    await eventually("alice to be marked away", async () => Number((await awayUntil()) ?? 0) > 0, 5000);
    const droppedAt = Date.now();
    assert.equal(await truth.terminate(), 0);

    // Half the window in: the old code had removed her (and closed the room) 2 s after the drop.
    await sleep(Math.max(0, droppedAt + 6000 - Date.now()));
    const roomOpen = () => withRedis(cluster.redisUrl, async (r) => (await r.exists(`${cluster.prefix}room:skewed-empty`)) === 1);
    const open = await roomOpen();
    const listed = await withRedis(cluster.redisUrl, (r) => r.hkeys(`${cluster.prefix}room:${room}:sids`));
    assert.deepEqual(listed.sort(), ["alice", "bob"], "alice is still listed 6 s into her 12 s resume window");
    assert.ok(!toldLeft(bob, "alice"), "nobody was told that alice left");
    const back = await resume(ahead, "ws-protobuf", "alice", room, sid, alice.lastMessageId);
    assert.equal(back.reconnect?.participant?.sid, sid, "alice resumes her participant");
    assert.ok(open, "the empty room is still open 6 s into its 12 s timeout");

    // And the timeout still ends: the room closes (within a sweep or two of its 12 s).
    await eventually("the empty room to close", async () => !(await roomOpen()), 12_000, 250);
    await back.leave();
    await bob.leave();
  });
});
