import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DisconnectReason } from "../../gen/volly/signaling/v1/models_pb.js";
import { SignalRequestSchema, SignalResponseSchema, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { TestClient } from "../helpers/signal-client.js";
import { makeToken } from "../helpers/tokens.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

describe("malformed frames get an error and nothing else breaks", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_MAX_FRAME_BYTES: "4096" });
  });
  after(() => srv.close());

  test("random bytes, truncated protobuf, bad JSON, unknown type, oversized frames", async () => {
    const victim = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "victim", room: "bad", pq: false });
    const peer = await TestClient.connect({ kind: "ws-flat", port: srv.port, identity: "peer", room: "bad", pq: false });
    const offer = toBinary(SignalRequestSchema, create(SignalRequestSchema, { message: { case: "offer", value: { sdp: "v=0".repeat(50), target: "peer" } } }));
    const cases: Array<{ frame: Uint8Array | string; code: string; match: RegExp }> = [
      { frame: randomBytes(64), code: "invalid_argument", match: /malformed/ },
      { frame: offer.subarray(0, offer.length - 7), code: "invalid_argument", match: /malformed/ },
      { frame: "{not json", code: "invalid_argument", match: /malformed/ },
      { frame: JSON.stringify({ type: "launch_missiles", target: "peer" }), code: "invalid_argument", match: /unknown message type "launch_missiles"/ },
      { frame: JSON.stringify({ type: "offer", sdp: 42 }), code: "invalid_argument", match: /malformed/ },
      { frame: "[]", code: "invalid_argument", match: /malformed/ },
      { frame: new Uint8Array(5000), code: "resource_exhausted", match: /larger than 4096/ },
    ];
    for (const c of cases) {
      victim.channel.sendRaw(c.frame);
      const error = await victim.waitFor("error");
      assert.equal(error.code, c.code, `frame ${String(c.frame).slice(0, 30)}`);
      assert.match(error.message, c.match);
    }
    // The connection is still usable, and so is everyone else's.
    victim.send({ case: "offer", value: { sdp: "still here", target: "peer" } });
    assert.equal((await peer.waitFor("offer")).sdp, "still here");
    peer.send({ case: "data", value: { target: "victim", payload: new Uint8Array([1, 2]), id: "x" } });
    assert.equal((await victim.waitFor("data")).id, "x");
    await victim.leave();
    await peer.leave();
  });

  test("a frame above the hard cap closes only that connection", async () => {
    const victim = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "big", room: "bad2", pq: false });
    const peer = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "calm", room: "bad2", pq: false });
    victim.channel.sendRaw(new Uint8Array(4096 * 4 + 10));
    const closed = await victim.channel.closed;
    assert.equal(closed.code, 1009);
    peer.send({ case: "ping", value: { timestamp: 2n } });
    assert.equal((await peer.waitFor("pong")).lastPingTimestamp, 2n);
    await peer.leave();
  });

  test("an offer whose sdp is not UTF-8 is refused (malformed_message) and relayed to nobody; the next one goes through", async () => {
    const pat = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "utf8-pat", room: "bad-utf8", pq: false });
    const bob = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "utf8-bob", room: "bad-utf8", pq: false });
    const fred = await TestClient.connect({ kind: "ws-flat", port: srv.port, identity: "utf8-fred", room: "bad-utf8", pq: false });
    const te = new TextEncoder();
    const field = (n: number, data: Uint8Array) => [(n << 3) | 2, data.length, ...data];
    for (const target of ["utf8-bob", "utf8-fred"]) {
      const body = [...field(1, new Uint8Array([0x61, 0xff, 0x62])), ...field(2, te.encode(target))];
      pat.channel.sendRaw(Uint8Array.from([(1 << 3) | 2, body.length, ...body]));
      assert.equal((await pat.waitFor("error")).reason, "malformed_message", target);
    }
    pat.send({ case: "offer", value: { sdp: "v=0 good", target: "utf8-bob" } });
    assert.equal((await bob.waitFor("offer")).sdp, "v=0 good", "the first offer bob gets is the good one");
    pat.send({ case: "offer", value: { sdp: "v=0 good", target: "utf8-fred" } });
    assert.equal((await fred.waitFor("offer")).sdp, "v=0 good", "the first offer fred gets is the good one");
    for (const c of [pat, bob, fred]) await c.leave();
  });

  test("undecodable gRPC messages end that stream with error and leave, then invalid_argument; the server carries on", async () => {
    const client = new grpc.Client(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${await makeToken({ identity: "grpc-junk", room: "bad3" })}`);
    const call = client.makeBidiStreamRequest("/volly.signaling.v1.SignalService/Signal", (b: Buffer) => b, (b: Buffer) => b, md);
    const received: SignalResponse[] = [];
    call.on("data", (b: Buffer) => received.push(fromBinary(SignalResponseSchema, b)));
    call.on("error", () => {});
    const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
    call.write(randomBytes(40));
    const s = await status;
    // As for every fatal error (docs/errors.md): `error` and `leave` before the status.
    assert.deepEqual(received.map((r) => r.message.case), ["join", "error", "leave"]);
    const [error, leave] = [received[1]?.message, received[2]?.message];
    assert.equal(error?.case === "error" && error.value.reason, "malformed_message");
    assert.equal(leave?.case === "leave" && leave.value.reason, DisconnectReason.PROTOCOL_ERROR);
    assert.equal(s.code, grpc.status.INVALID_ARGUMENT);
    // As grpc-js shows it: grpc-message is encoded as the gRPC spec says (connect-es's ':' as %3A was mended).
    assert.equal(s.details, "malformed message: request body does not decode as volly.signaling.v1.SignalRequest");
    client.close();
    const after = await TestClient.connect({ kind: "grpc-js", port: srv.port, identity: "grpc-ok", room: "bad3", pq: false });
    assert.equal(after.join?.participant?.identity, "grpc-ok");
    await after.leave();
  });
});
