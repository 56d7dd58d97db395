// docs/protocol.md §2 and §4: a WebSocket connection keeps the kind of frame of its format. Until the PQ channel
// is up either kind is read (a JSON pq_finished on a format=protobuf connection); after it, a frame of the other
// kind is fatal (pq_record_invalid, close 4015), even when it holds a record that opens.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { DisconnectReason } from "../../gen/volly/signaling/v1/models_pb.js";
import { SignalRequestSchema, SignalResponseSchema, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { decodePlaintext, encodePlaintext, type WireFormat } from "../../src/protocol/signal-codec.js";
import { openChannel, type Channel } from "../helpers/channels.js";
import { createIndependentClient, type IndependentClient } from "../helpers/independent-pq-client.js";
import { makeToken } from "../helpers/tokens.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const ping = (timestamp: bigint) => create(SignalRequestSchema, { requestId: 5, message: { case: "ping", value: { timestamp } } });

/** A channel past its handshake, with the handshake's last message (`pq_finished`) sent as `finishedAs`. */
async function established(port: number, kind: "ws-protobuf" | "ws-json", finishedAs: "binary" | "text", identity: string) {
  // A room each, so that nothing but the answers to its own requests comes to either.
  const token = await makeToken({ identity, room: `frame-kind-${identity}` });
  const ch = await openChannel(kind, port, { token });
  const pq = createIndependentClient({ accessToken: token, algorithm: "X25519MLKEM768" });
  ch.send(create(SignalRequestSchema, { message: { case: "pqHandshake", value: await pq.handshakeMessage("frame-kind") } }));
  const response = await ch.responses.take(5000, "pq_handshake_response");
  assert.equal(response.message.case, "pqHandshakeResponse");
  if (response.message.case !== "pqHandshakeResponse") throw new Error("no handshake response");
  const { clientFinished } = await pq.onHandshakeResponse(response.message.value);
  const finished = create(SignalRequestSchema, { message: { case: "pqFinished", value: { clientFinished } } });
  ch.sendRaw(finishedAs === "binary" ? toBinary(SignalRequestSchema, finished) : toJsonString(SignalRequestSchema, finished));
  const format: WireFormat = kind === "ws-protobuf" ? "protobuf" : "json";
  const next = async (): Promise<SignalResponse> => {
    const outer = await ch.responses.take(5000, "record");
    if (outer.message.case !== "secure") return outer;
    return decodePlaintext(SignalResponseSchema, await pq.open(outer.message.value), format);
  };
  assert.equal((await next()).message.case, "join");
  return { ch, pq, format, next };
}

/** `request` sealed in the connection's plaintext format, its outer `secure` sent in a frame of `frame` kind. */
async function sendRecord(ch: Channel, pq: IndependentClient, format: WireFormat, frame: "binary" | "text") {
  const record = await pq.seal(encodePlaintext(SignalRequestSchema, ping(7n), format));
  const outer = create(SignalRequestSchema, { message: { case: "secure", value: record } });
  ch.sendRaw(frame === "binary" ? toBinary(SignalRequestSchema, outer) : toJsonString(SignalRequestSchema, outer));
}

describe("the kind of frame on a post-quantum WebSocket connection", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({});
  });
  after(() => srv.close());

  for (const [kind, own, other] of [["ws-protobuf", "binary", "text"], ["ws-json", "text", "binary"]] as const) {
    test(`${kind}: pq_finished in either kind is read; after it a ${other} record is fatal, a ${own} one answered`, async () => {
      // The handshake's last message in the other kind: read, the channel comes up.
      const good = await established(srv.port, kind, other, `good-${kind}`);
      await sendRecord(good.ch, good.pq, good.format, own);
      assert.equal((await good.next()).message.case, "pong");

      const bad = await established(srv.port, kind, own, `bad-${kind}`);
      await sendRecord(bad.ch, bad.pq, bad.format, other);
      const error = await bad.next();
      assert.equal(error.message.case, "error");
      if (error.message.case === "error") assert.deepEqual([error.message.value.code, error.message.value.reason], ["data_loss", "pq_record_invalid"]);
      const leave = await bad.next();
      assert.equal(leave.message.case === "leave" && leave.message.value.reason, DisconnectReason.PROTOCOL_ERROR);
      assert.equal((await bad.ch.closed).code, 4015);

      // The other connection was not touched.
      await sendRecord(good.ch, good.pq, good.format, own);
      assert.equal((await good.next()).message.case, "pong");
      good.ch.kill();
    });
  }

  test("an empty envelope after the handshake is malformed_message, as before it; the connection carries on", async () => {
    const c = await established(srv.port, "ws-protobuf", "binary", "empty-after");
    c.ch.sendRaw(new Uint8Array(0));
    const error = await c.next();
    assert.equal(error.message.case === "error" && error.message.value.reason, "malformed_message");
    await sendRecord(c.ch, c.pq, c.format, "binary");
    assert.equal((await c.next()).message.case, "pong");
    c.ch.kill();
  });
});
