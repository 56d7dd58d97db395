// src/protocol/text-encoding.ts: protobuf-es decodes string fields with every character, a leading U+FEFF
// included, and still refuses bytes that are not UTF-8; JSON texts drop a leading byte order mark only.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { getTextEncoding } from "@bufbuild/protobuf/wire";
import { StoredSessionSchema } from "../../gen/volly/signaling/v1/internal_pb.js";
import { encodeShortAscii, useFastProtobufUtf8 } from "../../src/protocol/protobuf-utf8.js";
import { decodeJsonText, decodeUtf8Value } from "../../src/protocol/text-encoding.js";

const te = new TextEncoder();

test("protobuf-es keeps a leading U+FEFF of string fields, wherever it is", () => {
  for (const identity of ["\ufeffbob", "\ufeff", "\ufeff\ufeffx", "a\ufeff", "\ufeff😀"]) {
    const bytes = toBinary(StoredSessionSchema, create(StoredSessionSchema, { identity, room: identity }));
    const back = fromBinary(StoredSessionSchema, bytes);
    assert.deepEqual([back.identity, back.room], [identity, identity]);
  }
});

test("bytes that are not UTF-8 are still refused where protobuf-es validates, replaced where asked to", () => {
  const bad = Uint8Array.from([0xef, 0xbb, 0xbf, 0x62, 0xff]);
  // Field 2 (identity), length-delimited.
  assert.throws(() => fromBinary(StoredSessionSchema, Uint8Array.from([0x12, bad.length, ...bad])));
  assert.throws(() => decodeUtf8Value(bad, true), TypeError);
  assert.equal(decodeUtf8Value(bad), "\ufeffb\ufffd");
  assert.equal(decodeUtf8Value(te.encode("\ufeffbob"), true), "\ufeffbob");
});

test("a JSON text drops its byte order mark only, its string values keep theirs", () => {
  const text = decodeJsonText(te.encode('\ufeff{"identity":"\ufeffbob"}'), true);
  assert.deepEqual(JSON.parse(text), { identity: "\ufeffbob" });
  assert.throws(() => decodeJsonText(Uint8Array.from([0x7b, 0xff]), true), TypeError);
});

test("the server's fast encoder keeps this decoder, and its own bytes are TextEncoder's", () => {
  useFastProtobufUtf8();
  const encoding = getTextEncoding();
  assert.equal(encoding.decodeUtf8(te.encode("\ufeffx")), "\ufeffx");
  assert.deepEqual(encoding.encodeUtf8("\ufeffx"), te.encode("\ufeffx"));
  assert.deepEqual(encoding.encodeUtf8("plain"), encodeShortAscii("plain"));
});
