import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DisconnectReason } from "../../gen/volly/signaling/v1/models_pb.js";
import { SignalRequestSchema, SignalResponseSchema, SignalService, type SignalRequest, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { createIndependentClient, generateTokenKeyPair, type HandshakeMessageFields } from "../helpers/independent-pq-client.js";
import { makeToken } from "../helpers/tokens.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// grpc-js hands a non-OK status to the application as soon as the trailers arrive, dropping messages it has
// received but not delivered yet (grpc/grpc-node#2764). It delivers a compressed message only once it has
// decompressed it (off the event loop), and reads nothing more from the stream meanwhile: `error`, `leave`
// and the status right behind a compressed message (the 1.2 KB `pq_handshake_response`) were lost. A fatal
// error must still reach a grpc-js backend as `error`, `leave`, then the status (docs/errors.md).

interface Outcome {
  messages: SignalResponse[];
  status: grpc.StatusObject;
}

function signal(srv: TestServer, token: string, send: (write: (r: SignalRequest) => void) => Promise<void>): Promise<Outcome> {
  const client = new grpc.Client(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  const call = client.makeBidiStreamRequest<SignalRequest, SignalResponse>(
    `/${SignalService.typeName}/Signal`,
    (r) => Buffer.from(toBinary(SignalRequestSchema, r)),
    (b) => fromBinary(SignalResponseSchema, b),
    metadata,
  );
  const messages: SignalResponse[] = [];
  call.on("data", (r: SignalResponse) => messages.push(r));
  call.on("error", () => {});
  return new Promise<Outcome>((resolve, reject) => {
    call.on("status", (status: grpc.StatusObject) => {
      client.close();
      resolve({ messages, status });
    });
    send((r) => call.write(r)).catch(reject);
  });
}

const handshakeRequest = (requestId: number, value: HandshakeMessageFields) => create(SignalRequestSchema, { requestId, message: { case: "pqHandshake", value } });

describe("grpc-js receives error and leave before a fatal status", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({});
  });
  after(() => srv.close());

  for (let round = 1; round <= 3; round++) {
    test(`two pq_handshake back to back (round ${round}): response, error pq_handshake_duplicate, leave, status 9`, async () => {
      const token = await makeToken({ identity: `dup-${round}`, room: "grpc-fatal" });
      const handshake = await createIndependentClient({ accessToken: token, algorithm: "ML-KEM-768" }).handshakeMessage();
      const { messages, status } = await signal(srv, token, async (write) => {
        write(handshakeRequest(1, handshake));
        write(handshakeRequest(2, handshake));
      });
      assert.equal(status.code, grpc.status.FAILED_PRECONDITION);
      assert.deepEqual(messages.map((m) => m.message.case), ["pqHandshakeResponse", "error", "leave"]);
      const [, error, leave] = messages;
      assert.equal(error?.message.case === "error" && error.message.value.reason, "pq_handshake_duplicate");
      assert.equal(leave?.message.case === "leave" && leave.message.value.reason, DisconnectReason.PROTOCOL_ERROR);
    });
  }

  test("pq_key_mismatch (the server speaks first): response, error, leave, then the status", async () => {
    const pair = await generateTokenKeyPair("ML-KEM-768");
    const token = await makeToken({ identity: "mismatch", room: "grpc-fatal", claims: { pqPublicKey: Buffer.from(pair.publicKey).toString("base64") } });
    const handshake = await createIndependentClient({ accessToken: token, algorithm: "ML-KEM-768" }).handshakeMessage();
    const { messages, status } = await signal(srv, token, async (write) => write(handshakeRequest(1, handshake)));
    assert.notEqual(status.code, grpc.status.OK);
    assert.deepEqual(messages.map((m) => m.message.case), ["pqHandshakeResponse", "error", "leave"]);
    const error = messages[1];
    assert.equal(error?.message.case === "error" && error.message.value.reason, "pq_key_mismatch");
  });
});
