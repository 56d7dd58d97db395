import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BusEnvelopeSchema, DeliverySchema } from "../../gen/volly/signaling/v1/internal_pb.js";
import { createLogger } from "../../src/logger.js";
import { responseSpans } from "../../src/protocol/enqueue-batch.js";
import { Delivery } from "../../src/room/delivery.js";
import { LocalParticipants } from "../../src/room/local-participants.js";
import { redisSkip } from "../helpers/redis.js";
import { until } from "../helpers/polling.js";
import { useTwoBackends } from "./two-backends.js";
import { participant, recorder, room, limitsOf } from "./contract-fixtures.js";

const skip = await redisSkip();
const te = new TextEncoder();
const td = new TextDecoder();



/** A message body of `n` bytes that names itself (`tag`), so a misplaced slice shows. */
const body = (tag: string, n = 1500) => tag + ".".repeat(n - tag.length);

/** Log records at warn and above, as pino writes them. */
function capturingLogger(lines: string[]) {
  return createLogger("warn", { write: (line: string) => lines.push(line) });
}

describe("Redis forwarding of whole batches (BatchRouting)", { skip }, () => {
  const pair = useTwoBackends("routed");

  test("a batch mostly for one node (4 KiB or more) goes to it as its routing and then the batch unchanged; a node with little of it gets an envelope", async () => {
    const s = pair.one.store;
    await s.createRoom(room("rb"), 10, Date.now());
    const nodes: Record<string, string> = { b1: "node-b", b2: "node-b", c: "node-c", a: "node-a" };
    for (const [id, node] of Object.entries(nodes)) assert.ok((await s.joinParticipant(participant("rb", id, `PA_rb_${id}`, node), 10)).ok);
    const raw = new Map<string, Uint8Array[]>();
    const unsubscribe = await Promise.all(["node-b", "node-c"].map((node) =>
      pair.two.bus.subscribe(`node:${node}`, (p) => raw.set(node, [...(raw.get(node) ?? []), p.slice()]))));
    try {
      const targets = ["b1", "b2", "c", "b1", "a", "b2"];
      const texts = targets.map((t, i) => (t === "c" || t === "a" ? `${t}/${i}` : body(`${t}/${i}`)));
      const queued = await Promise.all(targets.map((t, i) => s.enqueue("rb", t, te.encode(texts[i] as string), limitsOf(100), "node-a")));
      assert.deepEqual(queued.map((q) => q?.forwarded), [true, true, true, true, false, true]);
      await until(() => (raw.get("node-b") ?? []).length >= 2 && raw.has("node-c"), "the publishes");
      await new Promise((r) => setTimeout(r, 100));

      const [announce, batch, ...rest] = raw.get("node-b") ?? [];
      assert.equal(rest.length, 0, "two publishes for node-b");
      const routing = fromBinary(BusEnvelopeSchema, announce as Uint8Array).message;
      assert.equal(routing.case, "routing");
      if (routing.case !== "routing") return;
      assert.equal(routing.value.batchCount, 6);
      assert.equal(routing.value.batchBytes, batch?.length);
      assert.deepEqual(routing.value.messages.map((m) => [m.index, m.sid, m.messageId]), [
        [0, "PA_rb_b1", 1n], [1, "PA_rb_b2", 1n], [3, "PA_rb_b1", 2n], [5, "PA_rb_b2", 2n],
      ]);
      // The batch is the sending node's packing: every message of the call, node-b's or not.
      const spans = responseSpans(batch as Uint8Array, 6);
      assert.ok(spans);
      assert.deepEqual(targets.map((_, i) => td.decode((batch as Uint8Array).subarray(spans[2 * i], spans[2 * i + 1]))), texts);

      const c = raw.get("node-c") ?? [];
      assert.equal(c.length, 1, "one envelope for node-c, whose share of the batch is small");
      const mc = fromBinary(BusEnvelopeSchema, c[0] as Uint8Array).message;
      assert.deepEqual(mc.case === "delivery" ? [mc.value.sid, mc.value.messageId, td.decode(mc.value.response)] : mc.case, ["PA_rb_c", 1n, "c/2"]);

      // All of a batch for node-b but under 4 KiB: an envelope, as the copy costs less than a second message.
      await Promise.all(["b1", "b2"].map((t) => s.enqueue("rb", t, te.encode(body(`small-${t}`, 1000)), limitsOf(100), "node-a")));
      await until(() => (raw.get("node-b") ?? []).length === 3, "the small batch's envelope");
      const small = fromBinary(BusEnvelopeSchema, (raw.get("node-b") ?? [])[2] as Uint8Array).message;
      assert.equal(small.case, "deliveries");
      if (small.case !== "deliveries") return;
      assert.deepEqual(small.value.deliveries.map((d) => [d.sid, d.messageId, td.decode(d.response).slice(0, 8)]), [["PA_rb_b1", 3n, "small-b1"], ["PA_rb_b2", 3n, "small-b2"]]);
    } finally {
      for (const u of unsubscribe) await u();
    }
  });

  test("Delivery hands out a routed batch's messages once each, in order, and only its own node's", async () => {
    const s = pair.one.store;
    await s.createRoom(room("rd"), 10, Date.now());
    for (const [id, node] of [["x", "rd-a"], ["y", "rd-b"], ["z", "rd-b"], ["w", "rd-c"]] as const) {
      assert.ok((await s.joinParticipant(participant("rd", id, `PA_rd_${id}`, node), 10)).ok);
    }
    const localB = new LocalParticipants();
    const localC = new LocalParticipants();
    const got = { y: [] as Array<[bigint, string]>, z: [] as Array<[bigint, string]>, w: [] as Array<[bigint, string]> };
    localB.add(recorder("PA_rd_y", got.y));
    localB.add(recorder("PA_rd_z", got.z));
    localC.add(recorder("PA_rd_w", got.w));
    const da = new Delivery(pair.one.store, pair.one.bus, "rd-a", new LocalParticipants(), limitsOf(1000), createLogger("silent"));
    const db = new Delivery(pair.two.store, pair.two.bus, "rd-b", localB, limitsOf(1000), createLogger("silent"));
    const dc = new Delivery(pair.two.store, pair.two.bus, "rd-c", localC, limitsOf(1000), createLogger("silent"));
    await Promise.all([db.start(), dc.start()]);
    try {
      const sent = { y: [] as string[], z: [] as string[], w: [] as string[] };
      for (let burst = 0; burst < 4; burst++) {
        await Promise.all(Array.from({ length: 20 }, (_, i) => {
          const to = i % 10 === 9 ? "w" : i % 2 === 0 ? "y" : "z";
          const text = to === "w" ? `w${burst}.${i}` : body(`${to}${burst}.${i}`, 200 + 40 * i);
          sent[to].push(text);
          return da.toParticipant("rd", to, te.encode(text));
        }));
      }
      await until(() => got.y.length >= sent.y.length && got.z.length >= sent.z.length && got.w.length >= sent.w.length, "every delivery");
      await new Promise((r) => setTimeout(r, 100));
      for (const name of ["y", "z", "w"] as const) {
        assert.deepEqual(got[name].map(([id]) => id), sent[name].map((_, i) => BigInt(i + 1)), `${name}: ids 1.. once, in order`);
        assert.deepEqual(got[name].map(([, t]) => t), sent[name], `${name}: its own messages, whole`);
      }
    } finally {
      await Promise.all([da.stop(), db.stop(), dc.stop()]);
    }
  });

  test("a routing whose batch does not follow delivers none of it, and the next envelope is delivered as usual", async () => {
    const lines: string[] = [];
    const local = new LocalParticipants();
    const got: Array<[bigint, string]> = [];
    local.add(recorder("PA_lost_q", got));
    const d = new Delivery(pair.two.store, pair.two.bus, "lost-b", local, limitsOf(1000), capturingLogger(lines));
    await d.start();
    try {
      const routing = toBinary(BusEnvelopeSchema, create(BusEnvelopeSchema, {
        message: { case: "routing", value: { batchCount: 1, batchBytes: 30, messages: [{ index: 0, sid: "PA_lost_q", messageId: 1n }] } },
      }));
      const envelope = (id: bigint, text: string) => toBinary(BusEnvelopeSchema, create(BusEnvelopeSchema, {
        message: { case: "delivery", value: create(DeliverySchema, { sid: "PA_lost_q", messageId: id, response: te.encode(text) }) },
      }));
      await pair.one.bus.publish("node:lost-b", routing);
      await pair.one.bus.publish("node:lost-b", envelope(1n, "after the lost batch"));
      await until(() => got.length === 1, "the envelope after the routing");
      assert.deepEqual(got, [[1n, "after the lost batch"]]);
      assert.ok(lines.some((l) => l.includes("a routed batch did not follow its routing")), "the loss is logged");
      // A routing naming an index past its batch is refused as a whole.
      const bad = toBinary(BusEnvelopeSchema, create(BusEnvelopeSchema, {
        message: { case: "routing", value: { batchCount: 0, batchBytes: 0, messages: [{ index: 0, sid: "PA_lost_q", messageId: 2n }] } },
      }));
      // Nor does a count no batch of that length can hold make it allocate for it.
      const huge = toBinary(BusEnvelopeSchema, create(BusEnvelopeSchema, {
        message: { case: "routing", value: { batchCount: 2 ** 31, batchBytes: 16, messages: [{ index: 0, sid: "PA_lost_q", messageId: 2n }] } },
      }));
      await pair.one.bus.publish("node:lost-b", huge);
      await pair.one.bus.publish("node:lost-b", new Uint8Array(16));
      await pair.one.bus.publish("node:lost-b", bad);
      await pair.one.bus.publish("node:lost-b", new Uint8Array(0));
      await pair.one.bus.publish("node:lost-b", envelope(2n, "still delivering"));
      await until(() => got.length === 2, "the next envelope");
      assert.deepEqual(got[1], [2n, "still delivering"]);
      assert.equal(lines.filter((l) => l.includes("a routed batch did not follow its routing")).length, 3, "each refused batch is logged once, none thrown");
    } finally {
      await d.stop();
    }
  });
});
