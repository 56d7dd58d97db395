// The server's protobuf-es UTF-8 encoder (src/protocol/protobuf-utf8.ts) must give exactly TextEncoder's bytes.
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { getTextEncoding } from "@bufbuild/protobuf/wire";
import { StoredSessionSchema } from "../../gen/volly/signaling/v1/internal_pb.js";
import { encodeShortAscii, useFastProtobufUtf8 } from "../../src/protocol/protobuf-utf8.js";

const te = new TextEncoder();
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Strings of every kind the encoder must not get wrong: ASCII, multi-byte, astral, lone surrogates, edges. */
function samples(): string[] {
  const fixed = ["", "a", "PA_x8Kj2mQp9Rt", "\u007f", "\u0080", "é", "ünïcødé room", "😀", "a😀b", "\ud800", "x\udc00y", "\u0000\u0001", "a".repeat(128), "a".repeat(129), "é".repeat(64)];
  const random: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const n = randomInt(0, 140);
    let s = "";
    // Mostly ASCII, sometimes any code unit (lone surrogates included), as ids and names come in.
    for (let k = 0; k < n; k++) s += String.fromCharCode(randomInt(0, 10) === 0 ? randomInt(0, 0x10000) : randomInt(0, 0x80));
    random.push(s);
  }
  return [...fixed, ...random];
}

test("the fast path takes exactly the short ASCII strings, with TextEncoder's bytes", () => {
  for (const s of samples()) {
    const fast = encodeShortAscii(s);
    const ascii = s.length <= 128 && [...s].every((c) => c.charCodeAt(0) < 0x80);
    assert.equal(fast !== undefined, ascii, JSON.stringify(s));
    if (fast) assert.equal(hex(fast), hex(te.encode(s)));
  }
});

test("installed, protobuf-es encodes every string exactly as before, and decodes it back", () => {
  const before = samples().map((s) => {
    const m = create(StoredSessionSchema, { sessionId: s, identity: `${s}!`, room: "r", state: s.slice(0, 5), createdAt: 7n });
    return { m, bytes: toBinary(StoredSessionSchema, m) };
  });
  useFastProtobufUtf8();
  useFastProtobufUtf8(); // idempotent: does not wrap itself
  for (const s of samples()) assert.equal(hex(getTextEncoding().encodeUtf8(s)), hex(te.encode(s)), JSON.stringify(s));
  for (const { m, bytes } of before) {
    assert.equal(hex(toBinary(StoredSessionSchema, m)), hex(bytes));
    const back = fromBinary(StoredSessionSchema, bytes);
    // protobuf-es decodes as text-encoding.ts has it: a leading U+FEFF is kept (a random identity may begin with one).
    assert.equal(back.identity, new TextDecoder("utf-8", { ignoreBOM: true }).decode(te.encode(m.identity)));
  }
});
