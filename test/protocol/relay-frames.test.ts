import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { test } from "node:test";
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { SignalRequestSchema, SignalResponseSchema, type SignalRequest } from "../../gen/volly/signaling/v1/signal_pb.js";
import { messageIdFieldSize, writeMessageIdField } from "../../src/protocol/message-id.js";
import { buildRelayResponse, parseRelayRequest, parseSecureRequest, secureResponseFrame, senderFields } from "../../src/protocol/relay-frames.js";

const te = new TextEncoder();
const words = ["", "bob", "Zoë", "🦊 fox", "x".repeat(300), "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n".repeat(40), "{\"candidate\":\"candidate:1 1 udp\"}"];
const pick = () => words[randomInt(words.length)] as string;

function randomRelayRequest(): SignalRequest {
  const kind = (["offer", "answer", "trickle"] as const)[randomInt(3)];
  const common = { target: pick(), callId: pick().slice(0, 64), from: pick(), fromSid: pick() };
  const message = kind === "trickle"
    ? { case: kind, value: { candidate: pick(), ...common } }
    : { case: kind, value: { sdp: pick(), ...common } };
  return create(SignalRequestSchema, { message, requestId: randomInt(3) === 0 ? 0 : randomInt(2 ** 31) } as Parameters<typeof create<typeof SignalRequestSchema>>[1]);
}

test("the fast path relays exactly what the protobuf-es path does (1,000 random messages)", () => {
  for (let i = 0; i < 1000; i++) {
    const request = randomRelayRequest();
    const bytes = toBinary(SignalRequestSchema, request);
    const parsed = parseRelayRequest(bytes);
    assert.ok(parsed, "fast path takes plain offer/answer/trickle");
    const m = request.message;
    if (m.case !== "offer" && m.case !== "answer" && m.case !== "trickle") throw new Error("unreachable");
    assert.equal(parsed.kind, m.case);
    assert.equal(parsed.target, m.value.target);
    assert.equal(parsed.requestId, request.requestId);
    assert.equal(parsed.callIdLength, te.encode(m.value.callId).length);
    const fastBytes = buildRelayResponse(parsed, senderFields(te.encode("alice"), te.encode("PA_alice")));
    const fast = fromBinary(SignalResponseSchema, fastBytes);
    // The slow path: decode, stamp the sender (client values ignored), encode as the response case.
    const slowValue = { ...m.value, from: "alice", fromSid: "PA_alice" };
    const slow = create(SignalResponseSchema, { message: { case: m.case, value: slowValue } as never });
    assert.ok(equals(SignalResponseSchema, fast, slow), `message ${i} differs`);
    // Byte for byte (from and from_sid are the last fields): a response comes from the buffer pool
    // without zeroing, so a byte it failed to write would show here as whatever the pool held.
    assert.deepEqual(Buffer.from(fastBytes), Buffer.from(toBinary(SignalResponseSchema, slow)), `message ${i} bytes differ`);
  }
});

test("unknown fields inside the message are kept, client from/from_sid dropped", () => {
  const request = create(SignalRequestSchema, { message: { case: "offer", value: { sdp: "v=0", target: "bob", from: "mallory" } } });
  const inner = toBinary(SignalRequestSchema, request);
  // Append unknown field 9 (varint 7) inside the offer: rebuild the offer bytes by hand.
  const offerBytes = inner.subarray(2, 2 + (inner[1] as number));
  const withUnknown = new Uint8Array([...offerBytes, 9 << 3, 7]);
  const bytes = new Uint8Array([0x0a, withUnknown.length, ...withUnknown]);
  const parsed = parseRelayRequest(bytes);
  assert.ok(parsed);
  const out = buildRelayResponse(parsed, senderFields(te.encode("alice"), te.encode("PA_1")));
  const decoded = fromBinary(SignalResponseSchema, out);
  assert.equal(decoded.message.case, "offer");
  if (decoded.message.case !== "offer") return;
  assert.equal(decoded.message.value.from, "alice");
  assert.equal(decoded.message.value.sdp, "v=0");
  assert.ok(decoded.message.value.$unknown?.some((u) => u.no === 9));
});

test("other messages and malformed bytes are left to the slow path, never throw", () => {
  const others = [
    create(SignalRequestSchema, { message: { case: "ping", value: { timestamp: 5n } } }),
    create(SignalRequestSchema, { message: { case: "data", value: { target: "x", payload: new Uint8Array([1]) } } }),
    create(SignalRequestSchema, { message: { case: "call", value: { target: "x", callId: "c" } } }),
    create(SignalRequestSchema, {}),
  ];
  for (const o of others) assert.equal(parseRelayRequest(toBinary(SignalRequestSchema, o)), undefined);
  for (let i = 0; i < 5000; i++) {
    const junk = randomBytes(randomInt(1, 200));
    parseRelayRequest(junk);
    parseSecureRequest(junk);
  }
  // Truncations of a valid message never parse into something wrong.
  const valid = toBinary(SignalRequestSchema, randomRelayRequest());
  for (let n = 0; n < valid.length; n++) {
    const p = parseRelayRequest(valid.subarray(0, n));
    if (p) assert.doesNotThrow(() => fromBinary(SignalRequestSchema, valid.subarray(0, n)));
  }
});

test("secure records: parse and encode agree with protobuf-es", () => {
  for (let i = 0; i < 500; i++) {
    const record = { epoch: randomInt(3) === 0 ? 0 : randomInt(2 ** 31), seq: BigInt(randomInt(3) === 0 ? 0 : randomInt(2 ** 40)), ciphertext: randomBytes(randomInt(16, 4000)) };
    const req = toBinary(SignalRequestSchema, create(SignalRequestSchema, { message: { case: "secure", value: record } }));
    const parsed = parseSecureRequest(req);
    assert.ok(parsed);
    assert.deepEqual([parsed.epoch, BigInt(parsed.seq), Buffer.from(parsed.ciphertext)], [record.epoch, record.seq, record.ciphertext]);
    const frame = secureResponseFrame(record.epoch, Number(record.seq), record.ciphertext.length);
    frame.set(record.ciphertext, frame.length - record.ciphertext.length);
    const res = fromBinary(SignalResponseSchema, frame);
    assert.equal(res.message.case, "secure");
    if (res.message.case !== "secure") return;
    assert.deepEqual([res.message.value.epoch, res.message.value.seq, Buffer.from(res.message.value.ciphertext)], [record.epoch, record.seq, record.ciphertext]);
  }
  // A secure record with a request_id or anything else around it is not "exactly a record".
  const withId = toBinary(SignalRequestSchema, create(SignalRequestSchema, { requestId: 3, message: { case: "secure", value: { ciphertext: new Uint8Array(20) } } }));
  assert.equal(parseSecureRequest(withId), undefined);
});

test("a record frame from unzeroed memory: every byte is written, so it equals one from zeroed memory", () => {
  // The server takes record frames from Node's buffer pool without zeroing them (SessionOutbound): stale
  // bytes of an earlier frame must never survive into a new one (a stale byte in the sealed part would
  // reach the recipient, encrypted for it). Frames are laid out as sendSealed does:
  // header, plaintext, message id field, tag.
  const dirty = (size: number) => new Uint8Array(size).fill(0xa5);
  for (let i = 0; i < 300; i++) {
    const epoch = randomInt(3) === 0 ? 0 : randomInt(2 ** 31);
    const seq = randomInt(3) === 0 ? 0 : randomInt(2 ** 40);
    const plaintext = randomBytes(randomInt(0, 4000));
    const messageId = BigInt(randomInt(3) === 0 ? 0 : randomInt(2 ** 48 - 1));
    const tag = randomBytes(16);
    const frames = [secureResponseFrame(epoch, seq, plaintext.length + messageIdFieldSize(messageId) + 16), secureResponseFrame(epoch, seq, plaintext.length + messageIdFieldSize(messageId) + 16, dirty)];
    for (const frame of frames) {
      const at = frame.length - plaintext.length - messageIdFieldSize(messageId) - 16;
      frame.set(plaintext, at);
      assert.equal(writeMessageIdField(frame, at + plaintext.length, messageId), frame.length - 16, "the id field ends where the tag begins");
      frame.set(tag, frame.length - 16);
    }
    assert.deepEqual(Buffer.from(frames[1] as Uint8Array), Buffer.from(frames[0] as Uint8Array));
  }
});

test("an offer, answer or trickle with a string that is not UTF-8 is left to the slow path (which refuses it)", () => {
  const te = new TextEncoder();
  const bad = new Uint8Array([0x61, 0xff, 0x62]);
  const field = (n: number, data: Uint8Array) => Uint8Array.from([(n << 3) | 2, data.length, ...data]);
  const request = (kind: number, ...fields: Uint8Array[]) => {
    const body = Uint8Array.from(fields.flatMap((f) => [...f]));
    return Uint8Array.from([(kind << 3) | 2, body.length, ...body]);
  };
  for (const kind of [1, 2, 3]) {
    assert.ok(parseRelayRequest(request(kind, field(1, te.encode("v=0")), field(2, te.encode("bob")), field(3, te.encode("c")))), `kind ${kind}: well-formed`);
    for (const at of [1, 2, 3]) {
      const fields = [1, 2, 3].map((n) => field(n, n === at ? bad : te.encode("ok")));
      assert.equal(parseRelayRequest(request(kind, ...fields)), undefined, `kind ${kind}, field ${at}`);
      assert.throws(() => fromBinary(SignalRequestSchema, request(kind, ...fields)), TypeError, "protobuf-es refuses it too");
    }
  }
});

test("a request in a Buffer (as ws hands it over) parses as the same bytes in a Uint8Array do", () => {
  for (const target of ["bob", "Zoë", "\ufeffbob", "🦊 fox", "x".repeat(64), "y".repeat(65), "é".repeat(40)]) {
    const bytes = toBinary(SignalRequestSchema, create(SignalRequestSchema, { message: { case: "trickle", value: { candidate: "c", target, callId: target.slice(0, 8) } } }));
    const fromArray = parseRelayRequest(bytes);
    const fromBuffer = parseRelayRequest(Buffer.from(bytes));
    assert.equal(fromArray?.target, target);
    assert.equal(fromBuffer?.target, target);
    assert.deepEqual(fromBuffer?.ranges, fromArray?.ranges);
  }
});
