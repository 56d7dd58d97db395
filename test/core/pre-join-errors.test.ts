// Before `join` nothing can start from a frame that does not decode: every error there ends the connection
// (errors.md), whatever the frame's encoding, and with PQ on it is a failed handshake, counted and logged
// where `grep pq_handshake` finds it even at LOG_LEVEL=warn. A client may still give up with a plaintext
// `leave` before the channel exists, and after the join an unknown message type is answered, not fatal.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { DisconnectReason } from "../../gen/volly/signaling/v1/models_pb.js";
import { SignalRequestSchema, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { capturedKeys, startCaptured, type CapturedServer } from "../helpers/captured-server.js";
import { openChannel, type Channel } from "../helpers/channels.js";
import { TestClient } from "../helpers/signal-client.js";
import { makeToken } from "../helpers/tokens.js";

async function drain(c: Channel): Promise<{ messages: SignalResponse[]; code: number }> {
  const messages: SignalResponse[] = [];
  const closed = c.closed;
  for (;;) {
    try {
      messages.push(await c.responses.take(5000, "until close"));
    } catch {
      break;
    }
  }
  return { messages, code: (await closed).code };
}

const handshakeFailures = (node: CapturedServer, result: string) =>
  node.lines.filter((l) => l.includes('"event":"pq_handshake"') && l.includes(`"result":"${result}"`) && l.includes('"level":"warn"')).length;

describe("errors before join", () => {
  let node: CapturedServer;
  before(async () => {
    node = await startCaptured("warn", { VOLLY_PQ_HANDSHAKE_TIMEOUT: "1" });
  });
  after(() => node.server.close(1000));

  const open = async (identity: string) =>
    openChannel("ws-flat", node.port, { token: await makeToken({ ...capturedKeys, identity, room: "pre-join" }) });

  for (const [label, frame, id, text] of [
    ["invalid JSON", "{not json", "malformed_message", /malformed message/],
    ["an unknown type", JSON.stringify({ type: "bogus" }), "unknown_message_type", /unknown message type "bogus"/],
    ["an empty message", "{}", "malformed_message", /empty message/],
    ["a key of the wrong JSON type", JSON.stringify({ type: "pq_handshake", algorithm: "ML-KEM-768", client_public_key: { a: 1 } }), "malformed_message", /malformed message/],
  ] as const) {
    test(`${label} before the handshake ends the connection and is a logged handshake failure`, async () => {
      const before = handshakeFailures(node, id);
      const c = await open(`pre-${id}-${label.length}`);
      c.sendRaw(frame);
      const { messages, code } = await drain(c);
      assert.deepEqual(messages.map((m) => m.message.case), ["error", "leave"]);
      const [error, leave] = messages;
      assert.match(error?.message.case === "error" ? error.message.value.message : "", text);
      assert.equal(leave?.message.case === "leave" ? leave.message.value.reason : undefined, DisconnectReason.JOIN_FAILURE);
      assert.equal(code, 4003);
      assert.equal(handshakeFailures(node, id), before + 1);
    });
  }

  test("a refusal repeats the frame's request_id, even when the frame does not decode or ends the connection", async () => {
    for (const [frame, id] of [
      [{ type: "bogus", request_id: 11 }, 11],
      [{ type: "discover", identities: 5, request_id: 12 }, 12],
      [{ type: "discover", identities: [], requestId: "42" }, 42],
    ] as const) {
      const c = await open(`pre-id-${id}`);
      c.sendRaw(JSON.stringify(frame));
      const { messages } = await drain(c);
      assert.deepEqual(messages.map((m) => [m.message.case, m.requestId]), [["error", id], ["leave", 0]], JSON.stringify(frame));
    }
  });

  test("a first frame that does not decode is answered in the client's dialect: the frame's own, else ?format=", async () => {
    for (const [kind, frame, expected] of [
      ["ws-json", JSON.stringify({ discover: { identities: 5 } }), "json"],
      ["ws-flat", JSON.stringify({ type: "discover", identities: 5 }), "flat"],
      ["ws-flat", JSON.stringify({ discover: { identities: 5 } }), "json"],
      ["ws-json", "{not json", "json"],
      ["ws-flat", "{not json", "flat"],
    ] as const) {
      const c = await openChannel(kind, node.port, { token: await makeToken({ ...capturedKeys, identity: `dialect-${kind}`, room: "pre-join" }) });
      c.sendRaw(frame);
      const { messages } = await drain(c);
      assert.deepEqual(messages.map((m) => m.message.case), ["error", "leave"], frame);
      assert.deepEqual(c.frameFormats, [expected, expected], `${kind} ${frame}`);
    }
  });

  test("a plaintext leave before the handshake closes normally", async () => {
    const c = await open("pre-leave");
    c.send(create(SignalRequestSchema, { message: { case: "leave", value: {} } }));
    const { messages, code } = await drain(c);
    assert.deepEqual(messages.map((m) => m.message.case), ["leave"]);
    assert.equal(messages[0]?.message.case === "leave" ? messages[0].message.value.reason : undefined, DisconnectReason.CLIENT_INITIATED);
    assert.equal(code, 1000);
  });

  test("a handshake that never comes times out, logged at warn as a failed handshake", async () => {
    const before = handshakeFailures(node, "pq_handshake_timeout");
    const c = await open("pre-silent");
    const { messages, code } = await drain(c);
    assert.deepEqual(messages.map((m) => m.message.case), ["error", "leave"]);
    assert.equal(code, 4004);
    assert.equal(handshakeFailures(node, "pq_handshake_timeout"), before + 1);
  });

  test("after the join, a record holding an unknown type is answered and the connection carries on", async () => {
    const c = await TestClient.connect({ kind: "ws-flat", port: node.port, identity: "post-unknown", room: "pre-join", pq: "ML-KEM-768", token: capturedKeys });
    const record = await c.pq?.seal(new TextEncoder().encode(JSON.stringify({ type: "bogus" })));
    assert.ok(record);
    c.channel.send(create(SignalRequestSchema, { message: { case: "secure", value: record } }));
    const error = await c.waitFor("error");
    assert.equal(error.code, "invalid_argument");
    assert.match(error.message, /unknown message type "bogus"/);
    c.send({ case: "ping", value: { timestamp: 7n } });
    assert.equal((await c.waitFor("pong")).lastPingTimestamp, 7n);
    const id = await c.pq?.seal(new TextEncoder().encode(JSON.stringify({ type: "bogus", request_id: 13 })));
    assert.ok(id);
    c.channel.send(create(SignalRequestSchema, { message: { case: "secure", value: id } }));
    assert.equal((await c.waitFor("error", (_e, r) => r.requestId === 13)).code, "invalid_argument");
    await c.leave();
  });

  test("after the join, a second pq_handshake, in a record or in the clear, is pq_handshake_duplicate", async () => {
    for (const inRecord of [true, false]) {
      const c = await TestClient.connect({ kind: "ws-flat", port: node.port, identity: `dup-${inRecord}`, room: "pre-join", pq: "ML-KEM-768", token: capturedKeys });
      const again = { type: "pq_handshake", algorithm: "ML-KEM-768", client_public_key: "", request_id: 5 };
      if (inRecord) {
        const record = await c.pq?.seal(new TextEncoder().encode(JSON.stringify(again)));
        assert.ok(record);
        c.channel.send(create(SignalRequestSchema, { message: { case: "secure", value: record } }));
      } else c.channel.sendRaw(JSON.stringify(again));
      const error = await c.waitFor("error");
      assert.deepEqual([error.code, error.message], ["failed_precondition", "a connection has exactly one handshake"]);
      assert.equal((await c.waitFor("leave")).reason, DisconnectReason.PROTOCOL_ERROR);
      assert.equal((await c.channel.closed).code, 4009);
    }
  });
});

describe("an oversized frame on a post-quantum channel", () => {
  let node: CapturedServer;
  before(async () => {
    node = await startCaptured("warn", { VOLLY_MAX_FRAME_BYTES: "4096" });
  });
  after(() => node.server.close(1000));

  test("refuses the oversized record by its request id and reads the next one in order: the channel carries on", async () => {
    for (const kind of ["ws-protobuf", "ws-json"] as const) {
      const c = await TestClient.connect({ kind, port: node.port, identity: `pq-big-${kind}`, room: "pq-big", pq: "ML-KEM-768", token: capturedKeys });
      const id = c.send({ case: "updateMetadata", value: { metadata: "m".repeat(5000) } });
      const error = await c.waitFor("error", (_e, r) => r.requestId === id);
      assert.deepEqual([error.code, error.message], ["resource_exhausted", "frame larger than 4096 bytes"]);
      // Not acted on: the metadata did not change; and the next record is read in order.
      const next = c.send({ case: "updateMetadata", value: { metadata: "small" } });
      const update = await c.waitFor("participantUpdate", (u) => u.participants.some((p) => p.identity === `pq-big-${kind}`));
      assert.equal(update.participants.find((p) => p.identity === `pq-big-${kind}`)?.metadata, "small");
      assert.ok(next > id);
      assert.equal(c.stash.filter((r) => r.message.case === "leave").length, 0);
      await c.leave();
    }
  });
});
