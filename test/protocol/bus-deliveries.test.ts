// The hand-written reader of bus envelopes must hand out exactly what protobuf-es decodes, and refuse (so the
// caller falls back to protobuf-es) everything else without delivering anything.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { BatchRoutingSchema, BusEnvelopeSchema, DeliveryBatchSchema, DeliverySchema, DisconnectSchema, type BusEnvelope } from "../../gen/volly/signaling/v1/internal_pb.js";
import { forEachBusDelivery, forEachRoutedDelivery, readBatchRouting } from "../../src/protocol/bus-deliveries.js";
import { EnqueueBatchWriter } from "../../src/protocol/enqueue-batch.js";

type Seen = Array<[string, bigint, string]>;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function read(bytes: Uint8Array): { ok: boolean; seen: Seen } {
  const seen: Seen = [];
  const ok = forEachBusDelivery(bytes, (sid, id, response) => seen.push([sid, id, hex(response)]));
  return { ok, seen };
}

function viaProtobuf(bytes: Uint8Array): Seen {
  const m = fromBinary(BusEnvelopeSchema, bytes).message;
  const list = m.case === "delivery" ? [m.value] : m.case === "deliveries" ? m.value.deliveries : [];
  return list.map((d) => [d.sid, d.messageId, hex(d.response)]);
}

const delivery = (sid: string, messageId: bigint, response: number[]) => create(DeliverySchema, { sid, messageId, response: new Uint8Array(response) });
const batchOf = (deliveries: ReturnType<typeof delivery>[]) => create(DeliveryBatchSchema, { deliveries });
const encode = (message: BusEnvelope["message"]) => toBinary(BusEnvelopeSchema, create(BusEnvelopeSchema, { message }));

test("delivery and deliveries envelopes read as protobuf-es decodes them", () => {
  const cases = [
    encode({ case: "delivery", value: delivery("PA_one", 1n, [0x1a, 0x02, 0x08, 0x01]) }),
    encode({ case: "delivery", value: delivery("", 0n, []) }),
    encode({ case: "deliveries", value: batchOf([]) }),
    encode({ case: "deliveries", value: batchOf([delivery("PA_a", 7n, [1, 2, 3]), delivery("PA_b", 2n ** 40n, Array.from({ length: 3000 }, (_, i) => i & 0xff)), delivery("PA_a", 8n, [])]) }),
    encode({ case: "deliveries", value: batchOf([delivery("PA_é", 2n ** 53n - 1n, [9])]) }),
  ];
  for (const bytes of cases) {
    const { ok, seen } = read(bytes);
    assert.equal(ok, true);
    assert.deepEqual(seen, viaProtobuf(bytes));
  }
});

test("anything else is refused without a single delivery, for protobuf-es to decode", () => {
  const batch = encode({ case: "deliveries", value: batchOf([delivery("PA_a", 1n, [1, 2]), delivery("PA_b", 2n, [3])]) });
  const refused: Array<[string, Uint8Array]> = [
    ["disconnect", encode({ case: "disconnect", value: create(DisconnectSchema, { sid: "PA_a", alreadyRemoved: true }) })],
    ["empty envelope", new Uint8Array(0)],
    ["truncated batch", batch.subarray(0, batch.length - 1)],
    ["trailing byte", Uint8Array.from([...batch, 0])],
    ["id past 2^53", encode({ case: "delivery", value: delivery("PA_a", 2n ** 53n, [1]) })],
    ["id past 2^56", encode({ case: "delivery", value: delivery("PA_a", 2n ** 60n, [1]) })],
    // An unknown field (9, varint) inside the last delivery: the whole envelope goes to the slow path.
    ["unknown field", (() => {
      const inner = Uint8Array.from([...toBinary(DeliverySchema, delivery("PA_c", 3n, [4])), 9 * 8, 1]);
      const tail = Uint8Array.from([1 * 8 + 2, inner.length, ...inner]);
      const body = Uint8Array.from([...batch.subarray(2), ...tail]);
      return Uint8Array.from([3 * 8 + 2, ...varint(body.length), ...body]);
    })()],
    ["wrong wire type for the id", Uint8Array.from([1 * 8 + 2, 2, 2 * 8 + 2, 0])],
  ];
  for (const [what, bytes] of refused) {
    const { ok, seen } = read(bytes);
    assert.equal(ok, false, what);
    assert.deepEqual(seen, [], `${what}: nothing delivered`);
  }
  // The refused unknown-field envelope is still a valid envelope, and protobuf-es reads all three deliveries.
  assert.equal(viaProtobuf(refused[6]![1]).length, 3);
});

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 128) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

test("a BatchRouting is read as protobuf-es decodes it; anything else or malformed is not a routing", () => {
  const cases = [
    { batchCount: 3, batchBytes: 90, messages: [{ index: 0, sid: "PA_a", messageId: 7n }, { index: 2, sid: "PA_ä", messageId: 2n ** 40n }] },
    { batchCount: 1, batchBytes: 9, messages: [] },
    { batchCount: 64, batchBytes: 262_144, messages: [{ index: 63, sid: "", messageId: 0n }] },
  ];
  for (const value of cases) {
    const bytes = toBinary(BusEnvelopeSchema, create(BusEnvelopeSchema, { message: { case: "routing", value } }));
    const decoded = fromBinary(BusEnvelopeSchema, bytes).message;
    assert.equal(decoded.case, "routing");
    if (decoded.case !== "routing") continue;
    assert.deepEqual(readBatchRouting(bytes), {
      count: decoded.value.batchCount,
      bytes: decoded.value.batchBytes,
      index: decoded.value.messages.map((m) => m.index),
      sid: decoded.value.messages.map((m) => m.sid),
      messageId: decoded.value.messages.map((m) => m.messageId),
    });
    assert.equal(readBatchRouting(bytes.subarray(0, bytes.length - 1)), undefined, "truncated");
    assert.equal(readBatchRouting(Buffer.concat([bytes, Buffer.from([0x10, 1])])), undefined, "bytes after the envelope");
  }
  const delivery = toBinary(BusEnvelopeSchema, create(BusEnvelopeSchema, { message: { case: "delivery", value: { sid: "PA_a", messageId: 1n } } }));
  assert.equal(readBatchRouting(delivery), undefined);
  assert.equal(readBatchRouting(new Uint8Array(0)), undefined);
  // An unknown field inside a routing: left to protobuf-es rather than half-read.
  assert.equal(readBatchRouting(Uint8Array.from([0x22, 2, 0x28, 1])), undefined);
});

test("a BatchRouting by recipient names each message of its groups, ids counting up from the group's first", () => {
  const u16s = (...gs: number[]) => Uint8Array.from(gs.flatMap((g) => [g >> 8, g & 0xff]));
  const routingOf = (value: MessageInitShape<typeof BatchRoutingSchema>) =>
    toBinary(BusEnvelopeSchema, create(BusEnvelopeSchema, { message: { case: "routing", value: create(BatchRoutingSchema, value) } }));
  // Groups 1 and 3 are this node's; group 2 (say, a recipient on the sending node) is not.
  const value = {
    batchCount: 6, batchBytes: 500,
    groups: [{ group: 3, sid: "PA_c", firstMessageId: 40n }, { group: 1, sid: "PA_ä", firstMessageId: 2n ** 40n }],
    messageGroups: u16s(1, 2, 3, 1, 3, 3),
  };
  const bytes = routingOf(value);
  assert.deepEqual(readBatchRouting(bytes), {
    count: 6, bytes: 500,
    index: [0, 2, 3, 4, 5],
    sid: ["PA_ä", "PA_c", "PA_ä", "PA_c", "PA_c"],
    messageId: [2n ** 40n, 40n, 2n ** 40n + 1n, 41n, 42n],
  });
  // A group number past 255 is two bytes in message_groups.
  assert.deepEqual(readBatchRouting(routingOf({ batchCount: 2, batchBytes: 20, groups: [{ group: 300, sid: "PA_z", firstMessageId: 1n }], messageGroups: u16s(300, 44) }))?.index, [0]);
  // None for this node (the routing is published even then): an empty routing, not a malformed one.
  assert.deepEqual(readBatchRouting(routingOf({ batchCount: 2, batchBytes: 20, messageGroups: u16s(1, 2) }))?.index, []);
  const malformed: Array<[string, MessageInitShape<typeof BatchRoutingSchema>]> = [
    ["message_groups shorter than the batch", { ...value, messageGroups: u16s(1, 2, 3, 1, 3) }],
    ["message_groups longer than the batch", { ...value, messageGroups: u16s(1, 2, 3, 1, 3, 3, 1) }],
    ["groups without message_groups", { ...value, messageGroups: new Uint8Array(0) }],
    ["group 0", { ...value, groups: [{ group: 0, sid: "PA_c", firstMessageId: 1n }] }],
    ["a group named twice", { ...value, groups: [value.groups[0], { ...value.groups[0], sid: "PA_d" }] }],
    ["ids past 2^53 within the batch", { ...value, groups: [{ group: 1, sid: "PA_c", firstMessageId: 2n ** 53n - 2n }] }],
    ["both forms at once", { ...value, messages: [{ index: 1, sid: "PA_b", messageId: 1n }] }],
  ];
  for (const [why, bad] of malformed) assert.equal(readBatchRouting(routingOf(bad)), undefined, why);
});

test("routed deliveries: only the named messages, or none when the routing does not fit the batch", () => {
  const writer = new EnqueueBatchWriter();
  for (const [identity, text] of [["a", "first"], ["b", "second"], ["a", "third"]]) writer.append("room", identity, new TextEncoder().encode(text));
  const batch = writer.take();
  const got: Seen = [];
  const deliver = (sid: string, id: bigint, response: Uint8Array) => got.push([sid, id, new TextDecoder().decode(response)]);
  const routing = { count: 3, bytes: batch.length, index: [0, 2], sid: ["PA_a", "PA_a"], messageId: [7n, 8n] };
  assert.equal(forEachRoutedDelivery(routing, batch, deliver), true);
  assert.deepEqual(got, [["PA_a", 7n, "first"], ["PA_a", 8n, "third"]]);
  got.length = 0;
  for (const bad of [
    { ...routing, bytes: batch.length + 1 },
    { ...routing, count: 2 },
    { ...routing, index: [0, 3] },
    { ...routing, count: 2 ** 31 },
  ]) assert.equal(forEachRoutedDelivery(bad, batch, deliver), false);
  assert.deepEqual(got, [], "nothing handed out from a refused batch");
});
