// The pushed batch's commands are written by hand (RespWriter): every header and bulk string must be exactly
// the RESP that Redis parses, whatever the number of digits of a length, and the writer must grow and hand
// out what was written intact.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RespWriter } from "../../src/redis/resp-writer.js";

const text = (b: Uint8Array) => Buffer.from(b).toString("latin1");

test("commands and bulk strings are RESP, for lengths of one to several digits", () => {
  for (const n of [0, 1, 9, 10, 99, 100, 999, 1000, 12_345, 100_000]) {
    const w = new RespWriter(16);
    const bytes = new Uint8Array(n).fill(0x61);
    w.command(3).bulk("RPUSH").bulk("k").bulk(bytes);
    assert.equal(text(w.since(0)), `*3\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n$${n}\r\n${"a".repeat(n)}\r\n`);
  }
});

test("a string's length is its UTF-8 byte count", () => {
  const w = new RespWriter();
  w.command(2).bulk("PUBLISH").bulk("é€😀");
  assert.equal(Buffer.from(w.since(0)).toString("utf8"), "*2\r\n$7\r\nPUBLISH\r\n$9\r\né€😀\r\n");
});

test("a command count of many digits, and pieces handed out before growth stay intact", () => {
  const w = new RespWriter(8);
  w.command(1).bulk("MULTI");
  const first = w.since(0);
  const from = w.length;
  w.command(123_456);
  for (let i = 0; i < 50; i++) w.bulk(new Uint8Array(100).fill(48 + (i % 10)));
  assert.equal(text(first), "*1\r\n$5\r\nMULTI\r\n");
  const second = text(w.since(from));
  assert.ok(second.startsWith("*123456\r\n$100\r\n0000"));
  assert.equal(second.length, "*123456\r\n".length + 50 * ("$100\r\n".length + 102));
});
