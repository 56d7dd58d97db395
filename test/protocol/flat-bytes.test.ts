// The flat JSON form (the seed's) takes a bytes field as base64, as protobuf JSON does, and also as the seed's
// browser code produces it: JSON.stringify of a Uint8Array (`{"0":..,"1":..}`) or an array of byte values.
// Anything else in a bytes field is still refused with protobuf's error. End to end, a seed-style client
// completes the handshake with its key written that way.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SignalRequestSchema } from "../../gen/volly/signaling/v1/signal_pb.js";
import { CodecError, decodeFrame } from "../../src/protocol/signal-codec.js";
import { generateTokenKeyPair } from "../helpers/independent-pq-client.js";
import { openChannel } from "../helpers/channels.js";
import { makeToken } from "../helpers/tokens.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const key = Uint8Array.from({ length: 40 }, (_, i) => (i * 37) & 0xff);

describe("bytes fields in the flat form", () => {
  for (const [label, value] of [
    ["base64", Buffer.from(key).toString("base64")],
    ["a stringified Uint8Array", JSON.parse(JSON.stringify(key)) as unknown],
    ["an array of byte values", [...key]],
  ] as const) {
    test(`${label} decodes to the same bytes`, () => {
      const { message, format } = decodeFrame(SignalRequestSchema, JSON.stringify({ type: "pq_handshake", algorithm: "ML-KEM-768", client_public_key: value }));
      assert.equal(format, "flat");
      assert.equal(message.message.case, "pqHandshake");
      assert.deepEqual(message.message.case === "pqHandshake" ? [...message.message.value.clientPublicKey] : [], [...key]);
    });
  }

  for (const [label, value] of [
    ["a value above 255", [1, 256]],
    ["a fraction", [1, 2.5]],
    ["keys out of order", { 1: 5, 0: 4, 3: 1 }],
    ["a string among the values", [1, "2"]],
  ] as const) {
    test(`${label} is refused`, () => {
      assert.throws(() => decodeFrame(SignalRequestSchema, JSON.stringify({ type: "pq_handshake", algorithm: "ML-KEM-768", client_public_key: value })), CodecError);
    });
  }

  test("the canonical JSON form is unchanged: base64 only", () => {
    assert.throws(() => decodeFrame(SignalRequestSchema, JSON.stringify({ pqHandshake: { algorithm: "ML-KEM-768", clientPublicKey: [...key] } })), CodecError);
  });
});

describe("a seed-style client writing its key as JSON.stringify writes a Uint8Array", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.close());

  test("gets pq_handshake_response", async () => {
    const { publicKey } = await generateTokenKeyPair("ML-KEM-768");
    const c = await openChannel("ws-flat", srv.port, { token: await makeToken({ identity: "seed-bytes", room: "seed" }) });
    c.sendRaw(JSON.stringify({ type: "pq_handshake", algorithm: "ML-KEM-768", client_public_key: publicKey }));
    const first = await c.responses.take(5000, "pq_handshake_response");
    assert.equal(first.message.case, "pqHandshakeResponse");
    assert.equal(first.message.case === "pqHandshakeResponse" ? first.message.value.kemCiphertext.length : 0, 1088);
    c.kill();
  });
});
