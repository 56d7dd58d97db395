import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DisconnectReason, LeaveAction, ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import type { SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import type { NodeProcess } from "../helpers/node-process.js";
import { redisSkip, requireRedis, sleep, withRedis } from "../helpers/redis.js";
import type { TestClient } from "../helpers/signal-client.js";
import { Cluster, join, resume, text } from "./cluster-fixture.js";

const skip = await redisSkip();
const te = new TextEncoder();
const TOTAL = 60;

/** Sequence numbers of the `seq` data messages in `responses`. */
function seqs(responses: SignalResponse[]): number[] {
  return responses.flatMap((r) => (r.message.case === "data" && r.message.value.topic === "seq" ? [Number(text(r.message.value.payload))] : []));
}

/** Everything `client` received until its connection ended (stash and inbox included). */
async function untilClosed(client: TestClient): Promise<SignalResponse[]> {
  const got: SignalResponse[] = [...client.stash.splice(0)];
  for (;;) {
    try {
      got.push(await client.inbox.take(15_000, "message before the close"));
    } catch (e) {
      if (client.inbox.isEnded) return got;
      throw e;
    }
  }
}

describe("graceful drain (SIGTERM) in a cluster", { skip }, () => {
  const cluster = new Cluster();
  let a: NodeProcess;
  let b: NodeProcess;

  before(async () => {
    await requireRedis(cluster.redisUrl);
    [a, b] = await Promise.all([cluster.add("a"), cluster.add("b")]);
  });
  after(() => cluster.destroy());

  test("clients get leave{SERVER_SHUTDOWN, RESUME}, resume on the other node, and lose nothing", async () => {
    const alice = await join(a, "ws-protobuf", "alice", "drain");
    const carol = await join(a, "ws-flat", "carol", "drain");
    const bob = await join(b, "grpc-js", "bob", "drain");
    await alice.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "bob", 10_000);
    await carol.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "bob", 10_000);

    const sending = (async () => {
      for (let i = 0; i < TOTAL; i++) {
        bob.send({ case: "data", value: { topic: "seq", payload: te.encode(String(i)), id: `m${i}` } });
        await sleep(25);
      }
    })();
    await sleep(300);
    const exit = a.terminate();
    const [aliceBefore, carolBefore] = await Promise.all([untilClosed(alice), untilClosed(carol)]);
    for (const got of [aliceBefore, carolBefore]) {
      const leave = got.find((r) => r.message.case === "leave");
      assert.ok(leave && leave.message.case === "leave", "a leave before the close");
      assert.deepEqual([leave.message.value.reason, leave.message.value.action], [DisconnectReason.SERVER_SHUTDOWN, LeaveAction.RESUME]);
    }
    assert.equal(await exit, 0, "the drained node exits cleanly");

    const aliceBack = await resume(b, "ws-protobuf", "alice", "drain", alice.join?.participant?.sid ?? "", alice.lastMessageId);
    const carolBack = await resume(b, "ws-flat", "carol", "drain", carol.join?.participant?.sid ?? "", carol.lastMessageId);
    await sending;
    for (const [before, client, back] of [[aliceBefore, alice, aliceBack], [carolBefore, carol, carolBack]] as const) {
      const after: SignalResponse[] = [];
      const deadline = Date.now() + 15_000;
      while (seqs(before).length + seqs(after).length < TOTAL && Date.now() < deadline) after.push(await back.next(15_000));
      assert.deepEqual([...seqs(before), ...seqs(after)], Array.from({ length: TOTAL }, (_, i) => i), "every message once, in order");
      assert.deepEqual(back.messageIds, Array.from({ length: back.messageIds.length }, (_, i) => client.lastMessageId + 1n + BigInt(i)));
    }
    assert.ok(
      !bob.stash.some((r) => r.message.case === "participantUpdate" && r.message.value.participants[0]?.state === ParticipantState.DISCONNECTED),
      "bob never saw them leave",
    );
    await withRedis(cluster.redisUrl, async (redis) => {
      assert.deepEqual(await redis.hkeys(`${cluster.prefix}nodes`), [b.nodeId], "the drained node left the registry");
      for (const client of [alice, carol]) {
        const facts = await redis.hgetall(`${cluster.prefix}participant:${client.join?.participant?.sid ?? ""}`);
        assert.deepEqual([facts.node_id, facts.away_until], [b.nodeId, "0"]);
      }
    });
    await Promise.all([aliceBack.leave(), carolBack.leave(), bob.leave()]);
  });
});
