import assert from "node:assert/strict";
import { test } from "node:test";
import { EnqueueBatchWriter, responseSpans } from "../../src/protocol/enqueue-batch.js";

const te = new TextEncoder();
const td = new TextDecoder();

function batchOf(messages: Array<[string, string, string]>, writer = new EnqueueBatchWriter(16)): Uint8Array {
  for (const [room, identity, response] of messages) writer.append(room, identity, te.encode(response));
  return writer.take();
}

test("a packed batch gives back each response where it lies, across buffer growth and reuse", () => {
  const writer = new EnqueueBatchWriter(16);
  const messages: Array<[string, string, string]> = [["rüm", "ïd😀x", "x".repeat(100)], ["r", "", ""], ["room", "bob", "offer ☃"]];
  const batch = batchOf(messages, writer);
  assert.equal(batch.length, messages.reduce((n, [r, i, m]) => n + 8 + te.encode(r).length + te.encode(i).length + te.encode(m).length, 0));
  const spans = responseSpans(batch, 3);
  assert.ok(spans);
  assert.deepEqual([0, 1, 2].map((i) => td.decode(batch.subarray(spans[2 * i], spans[2 * i + 1]))), messages.map((m) => m[2]));
  // The writer starts empty again after take().
  const next = batchOf([["a", "b", "c"]], writer);
  const one = responseSpans(next, 1);
  assert.ok(one);
  assert.equal(td.decode(next.subarray(one[0], one[1])), "c");
});

test("a taken batch keeps its bytes while later batches are written, until it is given back", () => {
  const writer = new EnqueueBatchWriter(16);
  const first = batchOf([["room", "a", "first ".repeat(20)]], writer);
  const copy = Uint8Array.from(first);
  for (let i = 0; i < 5; i++) batchOf([["room", "b", `later ${i} `.repeat(30)]], writer);
  assert.deepEqual(first, copy, "batches taken since wrote elsewhere");
  assert.ok(!batchesShare(first, batchOf([["room", "c", "x"]], writer)));
});

test("a batch given back lends its buffer to a later batch, which reads as its own", () => {
  const writer = new EnqueueBatchWriter(16);
  const answered = batchOf([["room", "a", "x".repeat(500)]], writer);
  writer.recycle(answered);
  // The batch being written when it came back finishes where it is; the one after takes its buffer.
  const pending = batchOf([["room", "p", "pending"]], writer);
  assert.ok(!batchesShare(answered, pending));
  const inFlight = batchOf([["room", "b", "in flight"]], writer);
  assert.ok(batchesShare(answered, inFlight), "the given-back buffer is reused");
  const spans = responseSpans(inFlight, 1);
  assert.ok(spans);
  assert.equal(td.decode(inFlight.subarray(spans[0], spans[1])), "in flight");
  // Not given back: the next batch gets a buffer of its own and leaves this one alone.
  const kept = Uint8Array.from(inFlight);
  const after = batchOf([["room", "c", "y".repeat(300)]], writer);
  assert.ok(!batchesShare(inFlight, after));
  assert.deepEqual(inFlight, kept);
});

function batchesShare(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer;
}

test("a payload that is not exactly the announced batch is refused whole", () => {
  const batch = batchOf([["room", "a", "one"], ["room", "b", "two"]]);
  assert.equal(responseSpans(batch, 3), undefined, "fewer messages than announced");
  assert.equal(responseSpans(batch, 1), undefined, "bytes left over");
  assert.equal(responseSpans(batch.subarray(0, batch.length - 1), 2), undefined, "truncated");
  assert.equal(responseSpans(Buffer.concat([batch, Buffer.from([0])]), 2), undefined, "a byte too many");
  const corrupt = Buffer.from(batch);
  corrupt.writeUInt32BE(0xffffffff, 2 + 4 + 2 + 1);
  assert.equal(responseSpans(corrupt, 2), undefined, "a length past the end");
  assert.deepEqual(Array.from(responseSpans(new Uint8Array(0), 0) ?? [-1]), [], "an empty batch of none is well formed");
});
