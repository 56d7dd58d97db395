import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { BusEnvelopeSchema, type BusEnvelope } from "../../gen/volly/signaling/v1/internal_pb.js";
import { DisconnectReason, LeaveAction } from "../../gen/volly/signaling/v1/models_pb.js";
import { createLogger } from "../../src/logger.js";
import { ACK_HOLD_MS } from "../../src/redis/ack-batcher.js";
import { MAX_BATCH_MESSAGES } from "../../src/redis/mailbox-batcher.js";
import { Delivery } from "../../src/room/delivery.js";
import { LocalParticipants } from "../../src/room/local-participants.js";
import { createBackend, type Backend } from "../../src/store/create-backend.js";
import { deletePrefix, REDIS_URL, RedisServer, redisServerSkip, redisSkip, requireRedis, uniquePrefix, sleep } from "../helpers/redis.js";
import { until } from "../helpers/polling.js";
import { useTwoBackends } from "./two-backends.js";
import { CommandCounter, participant, recorder, room, limitsOf } from "./contract-fixtures.js";

const log = createLogger("silent");
const skip = await redisSkip();
const te = new TextEncoder();
const td = new TextDecoder();




describe("Redis mailbox batching and forwarding", { skip }, () => {
  const pair = useTwoBackends("batching");

  test("the enqueues of one turn go as few scripts as the batch bound allows, in call order", async () => {
    const s = pair.one.store;
    await s.createRoom(room("big"), 10, Date.now());
    for (const id of ["a", "b"]) assert.ok((await s.joinParticipant(participant("big", id, `PA_big_${id}`, "node-a"), 10)).ok);
    const before = pair.counter.of("mailbox_enqueue_batch");
    const n = 2 * MAX_BATCH_MESSAGES + 10;
    const queued = await Promise.all(Array.from({ length: n }, (_, i) => s.enqueue("big", i % 2 === 0 ? "a" : "b", te.encode(`m${i}`), limitsOf(1000), "node-a")));
    assert.equal(pair.counter.of("mailbox_enqueue_batch") - before, 3, "bounded batches of at most MAX_BATCH_MESSAGES");
    assert.deepEqual(queued.map((q) => q?.messageId), Array.from({ length: n }, (_, i) => BigInt(Math.floor(i / 2) + 1)));
    const a = await s.readMailbox("PA_big_a", 0n);
    assert.deepEqual(a.messages.map((m) => td.decode(m.response)), Array.from({ length: n / 2 }, (_, i) => `m${2 * i}`));
  });

  test("enqueues of one turn with another limit or calling node start a new batch and keep call order", async () => {
    const s = pair.one.store;
    await s.createRoom(room("mixed"), 10, Date.now());
    assert.ok((await s.joinParticipant(participant("mixed", "a", "PA_mixed_a", "node-a"), 10)).ok);
    const before = pair.counter.of("mailbox_enqueue_batch");
    // limit/from: same, same, another limit, another node, back again: three changes, so four scripts.
    const calls: Array<[number, string]> = [[100, "node-a"], [100, "node-a"], [50, "node-a"], [50, ""], [100, "node-a"], [100, "node-a"]];
    const queued = await Promise.all(calls.map(([limit, from], i) => s.enqueue("mixed", "a", te.encode(`x${i}`), limitsOf(limit), from)));
    assert.equal(pair.counter.of("mailbox_enqueue_batch") - before, 4, "a new batch at each change of limit or calling node");
    assert.deepEqual(queued.map((q) => q?.messageId), [1n, 2n, 3n, 4n, 5n, 6n]);
    const box = await s.readMailbox("PA_mixed_a", 0n);
    assert.deepEqual(box.messages.map((m) => td.decode(m.response)), ["x0", "x1", "x2", "x3", "x4", "x5"]);
  });

  test("a batch for several nodes is one envelope per node, in id order; nothing for the caller's node", async () => {
    const s = pair.one.store;
    await s.createRoom(room("multi"), 10, Date.now());
    const nodes: Record<string, string> = { a: "node-a", b1: "node-b", b2: "node-b", c: "node-c" };
    for (const [id, node] of Object.entries(nodes)) assert.ok((await s.joinParticipant(participant("multi", id, `PA_m_${id}`, node), 10)).ok);
    const envelopes = new Map<string, BusEnvelope[]>();
    const unsubscribe = await Promise.all(["node-a", "node-b", "node-c"].map((node) =>
      pair.two.bus.subscribe(`node:${node}`, (p) => envelopes.set(node, [...(envelopes.get(node) ?? []), fromBinary(BusEnvelopeSchema, p)]))));
    try {
      const targets = ["b1", "c", "b2", "a", "b1", "c"];
      const queued = await Promise.all(targets.map((t, i) => s.enqueue("multi", t, te.encode(`${t}/${i}`), limitsOf(100), "node-a")));
      assert.deepEqual(queued.map((q) => q?.forwarded), [true, true, true, false, true, true]);
      await until(() => envelopes.has("node-b") && envelopes.has("node-c"), "both envelopes");
      await new Promise((r) => setTimeout(r, 100));
      const b = envelopes.get("node-b") ?? [];
      assert.equal(b.length, 1, "one publish for node-b");
      const mb = b[0]?.message;
      assert.equal(mb?.case, "deliveries");
      if (mb?.case !== "deliveries") return;
      assert.deepEqual(mb.value.deliveries.map((d) => [d.sid, d.messageId, td.decode(d.response)]), [
        ["PA_m_b1", 1n, "b1/0"], ["PA_m_b2", 1n, "b2/2"], ["PA_m_b1", 2n, "b1/4"],
      ]);
      const c = envelopes.get("node-c") ?? [];
      assert.equal(c.length, 1, "one publish for node-c");
      const mc = c[0]?.message;
      assert.equal(mc?.case, "deliveries");
      if (mc?.case !== "deliveries") return;
      assert.deepEqual(mc.value.deliveries.map((d) => [d.sid, d.messageId, td.decode(d.response)]), [["PA_m_c", 1n, "c/1"], ["PA_m_c", 2n, "c/5"]]);
      assert.equal(envelopes.get("node-a"), undefined, "the caller routes its own node's messages");

      // A lone message is a plain `delivery` envelope; without forwardFrom nothing is published.
      const lone = await s.enqueue("multi", "c", te.encode("lone"), limitsOf(100), "node-a");
      assert.equal(lone?.forwarded, true);
      await until(() => (envelopes.get("node-c") ?? []).length === 2, "the lone envelope");
      const m = envelopes.get("node-c")?.[1]?.message;
      assert.deepEqual(m?.case === "delivery" ? [m.value.sid, m.value.messageId, td.decode(m.value.response)] : m?.case, ["PA_m_c", 3n, "lone"]);
      const plain = await s.enqueue("multi", "c", te.encode("plain"), limitsOf(100));
      assert.equal(plain?.forwarded, false);
      const room2 = await s.enqueueRoom("multi", te.encode("all"), limitsOf(100), "PA_m_a", "node-a");
      assert.deepEqual(room2.map((q) => q.forwarded), [true, true, true]);
      await until(() => (envelopes.get("node-b") ?? []).length === 2 && (envelopes.get("node-c") ?? []).length === 3, "the room's envelopes");
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((envelopes.get("node-c") ?? []).length, 3, "the unforwarded message was not published");
    } finally {
      for (const u of unsubscribe) await u();
    }
  });

  test("Delivery across two nodes: every message once, in id order, local ones directly", async () => {
    const s = pair.one.store;
    await s.createRoom(room("dl"), 10, Date.now());
    for (const [id, node] of [["x", "dl-a"], ["y", "dl-b"], ["z", "dl-b"]] as const) {
      assert.ok((await s.joinParticipant(participant("dl", id, `PA_dl_${id}`, node), 10)).ok);
    }
    const localA = new LocalParticipants();
    const localB = new LocalParticipants();
    const got = { x: [] as Array<[bigint, string]>, y: [] as Array<[bigint, string]>, z: [] as Array<[bigint, string]> };
    localA.add(recorder("PA_dl_x", got.x));
    localB.add(recorder("PA_dl_y", got.y));
    localB.add(recorder("PA_dl_z", got.z));
    const da = new Delivery(pair.one.store, pair.one.bus, "dl-a", localA, limitsOf(1000), log);
    const db = new Delivery(pair.two.store, pair.two.bus, "dl-b", localB, limitsOf(1000), log);
    await da.start();
    await db.start();
    try {
      // Bursts of concurrent sends (one batch each) and single sends, from both nodes.
      let k = 0;
      for (let burst = 0; burst < 5; burst++) {
        await Promise.all(Array.from({ length: 30 }, () => {
          const i = k++;
          return da.toParticipant("dl", i % 3 === 0 ? "z" : "y", te.encode(`a${i}`));
        }));
        assert.equal(await db.toParticipant("dl", "x", te.encode(`b${burst}`)), true);
        assert.equal(await db.toParticipant("dl", "y", te.encode(`local${burst}`)), true);
      }
      assert.equal(await da.toRoom("dl", te.encode("room"), "PA_dl_x"), 2);
      const expectY = Array.from({ length: k }, (_, i) => i).filter((i) => i % 3 !== 0).length + 5 + 1;
      const expectZ = Array.from({ length: k }, (_, i) => i).filter((i) => i % 3 === 0).length + 1;
      await until(() => got.y.length >= expectY && got.z.length >= expectZ && got.x.length >= 5, "every delivery");
      await new Promise((r) => setTimeout(r, 100));
      for (const [name, list] of Object.entries(got)) {
        assert.deepEqual(list.map(([id]) => id), list.map((_, i) => BigInt(i + 1)), `${name} gets ids 1.. once, in order`);
      }
      assert.deepEqual(got.x.map(([, t]) => t), ["b0", "b1", "b2", "b3", "b4"]);
      assert.equal(got.z.at(-1)?.[1], "room");
      const sentY = got.y.map(([, t]) => t).filter((t) => t.startsWith("a"));
      assert.deepEqual(sentY, [...sentY].sort((p, q) => Number(p.slice(1)) - Number(q.slice(1))), "a sender's messages keep their order");
      assert.equal(got.y.length, expectY);
      assert.equal(got.z.length, expectZ);
    } finally {
      await da.stop();
      await db.stop();
    }
  });
});

describe("Redis mailbox batching when Redis fails", { skip }, () => {
  test("a failed batch rejects each of its messages with store_unavailable, like a single enqueue", async () => {
    const server = await RedisServer.start();
    const b = await createBackend({ url: server.url, prefix: uniquePrefix("batchfail") }, log);
    try {
      await b.store.createRoom(room("f"), 10, Date.now());
      for (const id of ["a", "b"]) assert.ok((await b.store.joinParticipant(participant("f", id, `PA_f_${id}`, "node-b"), 10)).ok);
      await server.stop();
      const results = await Promise.allSettled(["a", "b", "a"].map((t) => b.store.enqueue("f", t, te.encode(t), limitsOf(10), "node-a")));
      for (const r of results) {
        assert.equal(r.status, "rejected");
        if (r.status === "rejected") assert.match(String(r.reason), /storage is unavailable/);
      }
      // Delivery surfaces it to the sender as before: the relay fails with the store's error.
      const d = new Delivery(b.store, b.bus, "node-a", new LocalParticipants(), limitsOf(10), log);
      await assert.rejects(async () => d.toParticipant("f", "a", te.encode("x")), /storage is unavailable/);
      await assert.rejects(d.disconnect(participant("f", "b", "PA_f_b", "node-b"), DisconnectReason.SERVER_SHUTDOWN, LeaveAction.DISCONNECT, false), /storage is unavailable/);
    } finally {
      await b.close();
      await server.stop();
    }
  });
});

describe("Redis acknowledgement batching", { skip }, () => {
  const prefix = uniquePrefix("acks");
  const counter = new CommandCounter();
  let b: Backend;

  before(async () => {
    await requireRedis();
    b = await createBackend({ url: REDIS_URL, prefix }, log, counter);
  });

  after(async () => {
    await b?.close();
    await deletePrefix(REDIS_URL, prefix);
  });

  test("the acknowledgements of one turn go as one script, each answered as if sent alone, in call order", async () => {
    const s = b.store;
    await s.createRoom(room("acks"), 10, Date.now());
    for (const id of ["a", "b"]) assert.ok((await s.joinParticipant(participant("acks", id, `PA_ack_${id}`, "node-a"), 10)).ok);
    for (let i = 1; i <= 5; i++) await s.enqueue("acks", "a", te.encode(`a${i}`), limitsOf(100));
    for (let i = 1; i <= 3; i++) await s.enqueue("acks", "b", te.encode(`b${i}`), limitsOf(100));
    const before = counter.of("mailbox_ack_batch");
    const acked = await Promise.all([
      s.ackMailbox("PA_ack_a", 2n),
      s.ackMailbox("PA_ack_a", 1n),
      s.ackMailbox("PA_ack_ghost", 3n),
      s.ackMailbox("PA_ack_b", 2n ** 70n),
      s.ackMailbox("PA_ack_a", 4n),
    ]);
    assert.equal(counter.of("mailbox_ack_batch") - before, 1, "one script for the turn");
    assert.deepEqual(acked, [2n, 2n, 0n, 3n, 4n], "each as if alone: never lower than before, clamped to what was queued");
    assert.deepEqual((await s.readMailbox("PA_ack_a", 0n)).messages.map((m) => td.decode(m.response)), ["a5"]);
    assert.deepEqual((await s.readMailbox("PA_ack_b", 0n)).messages, []);
    // Acknowledgements of several turns within ACK_HOLD_MS go together too: nobody waits on them.
    const held = counter.of("mailbox_ack_batch");
    const spread = [s.ackMailbox("PA_ack_a", 5n)];
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      spread.push(s.ackMailbox("PA_ack_b", 3n));
    }
    assert.deepEqual(await Promise.all(spread), [5n, 3n, 3n, 3n]);
    assert.equal(counter.of("mailbox_ack_batch") - held, 1, "one script for the turns within the hold");
  });
});

describe("Redis batching while a batch is on its way", { skip: redisServerSkip() }, () => {
  test("the enqueues and acknowledgements of later turns wait for the batch in flight and then go as one", async () => {
    const server = await RedisServer.start();
    const counter = new CommandCounter();
    const b = await createBackend({ url: server.url, prefix: uniquePrefix("inflight") }, log, counter);
    const turn = () => new Promise((r) => setImmediate(r));
    try {
      const s = b.store;
      await s.createRoom(room("f"), 10, Date.now());
      assert.ok((await s.joinParticipant(participant("f", "a", "PA_fl_a", "node-a"), 10)).ok);
      // Frozen, Redis answers nothing: the first batch stays on its way while later turns enqueue.
      server.pause();
      const queued = [s.enqueue("f", "a", te.encode("m0"), limitsOf(100), "node-a")];
      for (let i = 1; i <= 3; i++) {
        await turn();
        await turn();
        queued.push(s.enqueue("f", "a", te.encode(`m${i}`), limitsOf(100), "node-a"));
      }
      // An acknowledgement waits ACK_HOLD_MS for others, then goes, and stays on its way (Redis is frozen).
      const acks = [s.ackMailbox("PA_fl_a", 0n)];
      await sleep(3 * ACK_HOLD_MS);
      // These two are further apart than the hold: only the batch in flight keeps them together.
      for (let i = 1; i <= 2; i++) {
        await sleep(2 * ACK_HOLD_MS);
        acks.push(s.ackMailbox("PA_fl_a", BigInt(i)));
      }
      await sleep(2 * ACK_HOLD_MS);
      server.unpause();
      assert.deepEqual((await Promise.all(queued)).map((q) => q?.messageId), [1n, 2n, 3n, 4n]);
      assert.deepEqual(await Promise.all(acks), [0n, 1n, 2n]);
      assert.equal(counter.of("mailbox_enqueue_batch"), 2, "the first batch, then the three later turns' messages together");
      assert.equal(counter.of("mailbox_ack_batch"), 2, "the first acknowledgement, then the two later ones together");
      assert.deepEqual((await s.readMailbox("PA_fl_a", 0n)).messages.map((m) => td.decode(m.response)), ["m2", "m3"]);
    } finally {
      server.unpause();
      await b.close();
      await server.stop();
    }
  });
});
