import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { LeaveAction, ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import type { SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import type { ChannelKind } from "../helpers/channels.js";
import type { NodeProcess } from "../helpers/node-process.js";
import { redisSkip, requireRedis, sleep } from "../helpers/redis.js";
import type { TestClient } from "../helpers/signal-client.js";
import { Cluster, join, resume, text } from "./cluster-fixture.js";

const skip = await redisSkip();
const te = new TextEncoder();
const TOTAL = 200;

interface Got {
  id: bigint;
  seq: number;
}

/** The next `seq` data messages of `client` (other messages are ignored), until `done` says so. */
async function collect(client: TestClient, into: Got[], done: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    const r: SignalResponse = await client.next(Math.max(1, deadline - Date.now()));
    if (r.message.case === "data" && r.message.value.topic === "seq") into.push({ id: r.messageId, seq: Number(text(r.message.value.payload)) });
  }
}

describe("resume after a cut socket, nothing lost", { skip }, () => {
  const cluster = new Cluster();
  let a: NodeProcess;
  let b: NodeProcess;

  before(async () => {
    await requireRedis(cluster.redisUrl);
    [a, b] = await Promise.all([cluster.add("a"), cluster.add("b")]);
  });
  after(() => cluster.destroy());

  const scenario = (label: string, target: () => NodeProcess, kinds: [ChannelKind, ChannelKind]) =>
    test(`while its peer keeps sending, a client cut off resumes ${label} and gets every message once, in order`, async (t) => {
      const room = `cut-${label.replace(/\W+/g, "-")}`;
      const pitcher = await join(a, "ws-protobuf", `pitcher-${room}`, room);
      const catcher = await join(a, kinds[0], `catcher-${room}`, room);
      const sid = catcher.join?.participant?.sid ?? "";
      await pitcher.waitFor("participantUpdate", (u) => u.participants[0]?.identity === catcher.join?.participant?.identity, 10_000);

      // A steady stream: one message every 10 ms, acknowledged by the server one by one.
      const sending = (async () => {
        for (let i = 0; i < TOTAL; i++) {
          pitcher.send({ case: "data", value: { target: `catcher-${room}`, topic: "seq", payload: te.encode(String(i)), id: `m${i}` } });
          await sleep(10);
        }
      })();

      const first: Got[] = [];
      await collect(catcher, first, () => first.length >= 50);
      catcher.kill();
      await catcher.channel.closed;
      // Whatever reached the client before the cut counts as processed; it resumes after the last id.
      for (const r of [...catcher.stash, ...catcher.inbox.pending()]) {
        if (r.message.case === "data" && r.message.value.topic === "seq") first.push({ id: r.messageId, seq: Number(text(r.message.value.payload)) });
      }
      const last = catcher.lastMessageId;
      await sleep(300);

      const back = await resume(target(), kinds[1], `catcher-${room}`, room, sid, last);
      assert.equal(back.reconnect?.participant?.sid, sid);
      const second: Got[] = [];
      await collect(back, second, () => first.length + second.length >= TOTAL);
      await sending;
      await sleep(200);
      for (const r of [...back.stash, ...back.inbox.pending()]) {
        if (r.message.case === "data" && r.message.value.topic === "seq") second.push({ id: r.messageId, seq: Number(text(r.message.value.payload)) });
      }
      t.diagnostic(`${first.length} before the cut (last id ${last}), ${second.length} after the resume`);

      assert.deepEqual([...first, ...second].map((g) => g.seq), Array.from({ length: TOTAL }, (_, i) => i), "every message exactly once, in order");
      assert.ok(first.every((g) => g.id <= last));
      assert.deepEqual(back.messageIds, Array.from({ length: back.messageIds.length }, (_, i) => last + 1n + BigInt(i)), "ids continue exactly after the last one seen");
      await back.leave();
      await pitcher.leave();
    });

  test("a resume on another node closes the old connection if it is still open (half-open), quietly", async () => {
    const peer = await join(a, "ws-protobuf", "peer-half", "half-open");
    const old = await join(a, "ws-flat", "ghost-half", "half-open");
    await peer.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "ghost-half", 10_000);
    peer.send({ case: "data", value: { target: "ghost-half", payload: te.encode("x"), id: "x" } });
    await old.waitFor("data", () => true, 10_000);
    const back = await resume(b, "grpc-js", "ghost-half", "half-open", old.join?.participant?.sid ?? "", old.lastMessageId);
    const leave = await old.waitFor("leave", () => true, 10_000);
    assert.equal(leave.action, LeaveAction.RESUME);
    await old.channel.closed;
    peer.send({ case: "data", value: { target: "ghost-half", payload: te.encode("y"), id: "y" } });
    assert.equal(text((await back.waitFor("data", () => true, 10_000)).payload), "y");
    await sleep(1500);
    assert.ok(!peer.stash.some((r) => r.message.case === "participantUpdate" && r.message.value.participants[0]?.state === ParticipantState.DISCONNECTED));
    await back.leave();
    await peer.leave();
  });

  scenario("onto the same node", () => a, ["ws-flat", "ws-flat"]);
  scenario("onto another node", () => b, ["ws-protobuf", "grpc-js"]);
});
