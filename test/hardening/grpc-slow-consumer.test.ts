import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DisconnectReason, ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { SignalRequestSchema, SignalResponseSchema, type SignalRequest, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { TestClient } from "../helpers/signal-client.js";
import { makeToken } from "../helpers/tokens.js";
import { limitCount, startTestServer, type TestServer } from "../helpers/test-server.js";

const SEND_BUFFER = 65_536;

/**
 * A gRPC participant that reads its join and then stops reading its response stream (grpc-js `pause`),
 * while it keeps pinging, so only the send buffer limit can end it.
 */
async function stuckGrpcParticipant(port: number, identity: string, room: string) {
  const token = await makeToken({ identity, room });
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${token}`);
  const call = client.makeBidiStreamRequest(
    "/volly.signaling.v1.SignalService/Signal",
    (m: SignalRequest) => Buffer.from(toBinary(SignalRequestSchema, m)),
    (b: Buffer) => fromBinary(SignalResponseSchema, b),
    md,
  );
  call.on("error", () => {});
  const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  const first = await new Promise<SignalResponse>((resolve) => call.once("data", resolve));
  assert.equal(first.message.case, "join");
  call.pause();
  const pinger = setInterval(() => call.write(create(SignalRequestSchema, { message: { case: "ping", value: { timestamp: 1n } } })), 500);
  return {
    status,
    stop: () => {
      clearInterval(pinger);
      call.cancel();
      client.close();
    },
  };
}

describe("gRPC slow consumer (PQ off): the send buffer limit counts what is really queued", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({
      VOLLY_PQ_ENABLED: "false", VOLLY_MAX_SEND_BUFFER_BYTES: String(SEND_BUFFER), VOLLY_RESUME_WINDOW: "0",
      VOLLY_MAX_MESSAGES_PER_SECOND: "100000", VOLLY_MESSAGE_BURST: "100000",
    });
  });
  after(() => srv.close());

  test("a gRPC client that stops reading is cut off with SLOW_CONSUMER once a few limits' worth is queued", async () => {
    const stuck = await stuckGrpcParticipant(srv.port, "grpc-stuck", "grpc-slow");
    const sender = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "grpc-fast", room: "grpc-slow", pq: false });
    const sdp = "v=0 ".repeat(4096);
    // 160 offers of 16 KiB: 40 send buffers' worth. Counted at their size, the buffer trips within the first
    // few dozen (HTTP/2 windows hold some more); counted as small fixed-size messages, it would never trip.
    const gone = sender.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "grpc-stuck" && u.participants[0].state === ParticipantState.DISCONNECTED, 20_000);
    for (let i = 0; i < 160; i++) sender.send({ case: "offer", value: { sdp, target: "grpc-stuck" } });
    const update = await gone;
    assert.equal(update.participants[0]?.disconnectReason, DisconnectReason.SLOW_CONSUMER);
    assert.ok((await limitCount(srv, "send_buffer")) >= 1);
    stuck.stop();
    await sender.leave();
  });
});
