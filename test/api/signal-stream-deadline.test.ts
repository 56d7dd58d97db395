import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { after, before, describe, test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { DisconnectReason, LeaveAction, ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { RoomService } from "../../gen/volly/signaling/v1/room_service_pb.js";
import { SignalResponseSchema, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { eventually } from "../helpers/node-process.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { makeToken } from "../helpers/tokens.js";

// A deadline on the Signal stream (grpc-timeout, connect-timeout-ms) is a server-side end: the client,
// still reading, gets `error` and `leave {action: RESUME}`, and the stream ends deadline_exceeded, never
// OK. A cancel stays a drop. The client is Node's http2 with the deadline header only, so the server's
// answer is what is seen (grpc-js and connect-node also end the call at their own timer, racing it).
describe("a deadline on the Signal stream", () => {
  let srv: TestServer;
  let operator: string;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
    operator = await makeToken({ identity: "", room: "dl", grant: { roomJoin: false, roomList: true, roomAdmin: true, room: "dl" } });
  });
  after(() => srv.close());

  interface StreamEnd {
    responses: SignalResponse[];
    /** gRPC trailers, or the Connect end-stream message's JSON. */
    end: Record<string, unknown>;
    status: number;
  }

  /** Opens Signal with `headers` and never half-closes; resolves when the server ends its side. */
  const openSignal = async (identity: string, headers: http2.OutgoingHttpHeaders, onOpen?: (req: http2.ClientHttp2Stream) => void): Promise<StreamEnd> => {
    const token = await makeToken({ identity, room: "dl" });
    const session = http2.connect(srv.httpUrl);
    try {
      return await new Promise<StreamEnd>((resolve, reject) => {
        const req = session.request({ ":method": "POST", ":path": "/volly.signaling.v1.SignalService/Signal", authorization: `Bearer ${token}`, ...headers }, { endStream: false });
        const result: StreamEnd = { responses: [], end: {}, status: 0 };
        let buffered = Buffer.alloc(0);
        req.on("response", (h) => {
          result.status = Number(h[":status"]);
          onOpen?.(req);
        });
        req.on("data", (chunk: Buffer) => {
          buffered = Buffer.concat([buffered, chunk]);
          while (buffered.length >= 5 && buffered.length >= 5 + buffered.readUInt32BE(1)) {
            const flags = buffered[0] ?? 0;
            const payload = buffered.subarray(5, 5 + buffered.readUInt32BE(1));
            buffered = buffered.subarray(5 + payload.length);
            if ((flags & 0x02) !== 0) result.end = JSON.parse(payload.toString("utf8")) as Record<string, unknown>;
            else result.responses.push(fromBinary(SignalResponseSchema, payload));
          }
        });
        req.on("trailers", (t) => Object.assign(result.end, t));
        // The server's half ends (trailers, or Connect's end-stream message); ours was never ended.
        req.on("end", () => {
          resolve(result);
          req.close(http2.constants.NGHTTP2_CANCEL);
        });
        req.on("close", () => resolve(result));
        req.on("error", reject);
        setTimeout(() => reject(new Error(`stream still open after 8 s: ${JSON.stringify(result.responses.map((r) => r.message.case))}`)), 8000).unref();
      });
    } finally {
      session.close();
    }
  };

  const stateOf = async (identity: string) => {
    const api = createClient(RoomService, createGrpcTransport({ baseUrl: srv.apiUrl }));
    const { participants } = await api.listParticipants({ room: "dl" }, { headers: { authorization: `Bearer ${operator}` } });
    return participants.find((p) => p.identity === identity)?.state;
  };

  const assertDeadlineGoodbye = (responses: SignalResponse[]) => {
    const cases = responses.map((r) => r.message.case);
    assert.equal(cases[0], "join");
    assert.deepEqual(cases.slice(-2), ["error", "leave"], cases.join());
    const [error, leave] = responses.slice(-2).map((r) => r.message);
    assert.ok(error?.case === "error" && leave?.case === "leave");
    assert.equal(error.value.code, "deadline_exceeded");
    assert.equal(error.value.message, "the stream's deadline passed; resume to carry on");
    assert.equal(leave.value.action, LeaveAction.RESUME);
    assert.equal(leave.value.reason, DisconnectReason.CONNECTION_TIMEOUT);
  };

  test("gRPC (grpc-timeout): error and leave (resume), then DEADLINE_EXCEEDED; the participant may resume", async () => {
    const startedAt = Date.now();
    const { responses, end, status } = await openSignal("dl-grpc", { "content-type": "application/grpc", te: "trailers", "grpc-timeout": "1S" });
    assert.equal(status, 200);
    assert.ok(Date.now() - startedAt < 4000, "ended at the deadline");
    assertDeadlineGoodbye(responses);
    assert.equal(end["grpc-status"], "4");
    assert.equal(decodeURIComponent(String(end["grpc-message"])), "the stream's deadline passed; resume to carry on");
    assert.equal(await stateOf("dl-grpc"), ParticipantState.RECONNECTING);
  });

  test("Connect (connect-timeout-ms): error and leave (resume), then an end-stream deadline_exceeded", async () => {
    const { responses, end, status } = await openSignal("dl-connect", { "content-type": "application/connect+proto", "connect-timeout-ms": "1000" });
    assert.equal(status, 200);
    assertDeadlineGoodbye(responses);
    assert.deepEqual(end.error, { code: "deadline_exceeded", message: "the stream's deadline passed; resume to carry on" });
    assert.equal(await stateOf("dl-connect"), ParticipantState.RECONNECTING);
  });

  test("a cancel is still a drop: nothing more is sent and the participant is kept for resume", async () => {
    let cancelled = false;
    const { responses } = await openSignal("dl-cancel", { "content-type": "application/grpc", te: "trailers" }, (req) => {
      setTimeout(() => {
        cancelled = true;
        req.close(http2.constants.NGHTTP2_CANCEL);
      }, 300);
    });
    assert.ok(cancelled);
    assert.deepEqual(responses.map((r) => r.message.case), ["join"]);
    await eventually("the participant to be kept for resume", async () => (await stateOf("dl-cancel")) === ParticipantState.RECONNECTING, 5000);
  });
});
