// A gRPC or Connect signal stream reads the connect metadata docs/protocol.md names (authorization,
// volly-reconnect, volly-sid, volly-last-message-id) and nothing else: the query's other parameters have no
// `volly-` twin, so `volly-access_token` is no second way to pass a token and `volly-format` is no setting.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { SignalRequestSchema, SignalResponseSchema, type SignalRequest, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { openChannel } from "../helpers/channels.js";
import { makeToken } from "../helpers/tokens.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

/** A grpc-js signal stream with exactly `metadata` (no `authorization` unless given): its first response, or its status. */
function signalWith(port: number, metadata: Record<string, string>): Promise<{ first?: SignalResponse["message"]["case"]; status?: grpc.StatusObject }> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  const call = client.makeBidiStreamRequest(
    "/volly.signaling.v1.SignalService/Signal",
    (m: SignalRequest) => Buffer.from(toBinary(SignalRequestSchema, m)),
    (b: Buffer) => fromBinary(SignalResponseSchema, b),
    md,
  );
  call.on("error", () => {});
  return new Promise((resolve) => {
    call.once("data", (r: SignalResponse) => {
      resolve({ first: r.message.case });
      call.cancel();
      client.close();
    });
    call.once("status", (status: grpc.StatusObject) => {
      resolve({ status });
      client.close();
    });
  });
}

describe("connect metadata: only the documented names", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
  });
  after(() => srv.close());

  test("a token in volly-access_token is not read: without authorization the stream has no access token", async () => {
    const token = await makeToken({ identity: "meta-token", room: "meta-room" });
    const answer = await signalWith(srv.port, { "volly-access_token": token });
    assert.equal(answer.first, undefined, "the stream was not let in");
    assert.deepEqual([answer.status?.code, answer.status?.details], [grpc.status.UNAUTHENTICATED, "no access token"]);
  });

  test("volly-format is no parameter: a value the query would refuse is not even looked at", async () => {
    const token = await makeToken({ identity: "meta-format", room: "meta-room" });
    for (const kind of ["grpc-js", "connect"] as const) {
      const ch = await openChannel(kind, srv.port, { token, headers: { "volly-format": "nonsense" } });
      assert.equal((await ch.responses.take(5000, "join")).message.case, "join", kind);
      ch.kill();
    }
  });
});
