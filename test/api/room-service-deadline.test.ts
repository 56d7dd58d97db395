import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { after, before, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { RoomService } from "../../gen/volly/signaling/v1/room_service_pb.js";
import { grpcMessage } from "../../src/api/rpc-request-errors.js";
import { RedisServer, redisServerSkip } from "../helpers/redis.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { makeToken } from "../helpers/tokens.js";

// A unary RoomService call ends at the client's deadline (grpc-timeout, connect-timeout-ms) with
// deadline_exceeded, even when the store stalls past its own 3 s command timeout: a Redis of the test's
// own, frozen with SIGSTOP. The clients send the deadline header and wait (fetch, Node's http2), so the
// time measured is the server's, not a client timer's.
const skip = redisServerSkip();
const DEADLINE = "the call's deadline passed before it finished; the request may still take effect";

describe("RoomService calls end at the client's deadline", { skip }, () => {
  let redis: RedisServer;
  let srv: TestServer;
  let operator: string;
  before(async () => {
    redis = await RedisServer.start();
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", REDIS_URL: redis.url });
    operator = await makeToken({ identity: "", room: "dl-api", grant: { roomJoin: false, roomCreate: true, roomList: true, roomAdmin: true } });
  });
  after(async () => {
    redis?.unpause();
    await srv?.close();
    await redis?.stop();
  });

  const url = (port: number, method: string) => `http://127.0.0.1:${port}/volly.signaling.v1.RoomService/${method}`;

  /** A gRPC call over h2c with `grpc-timeout` and an empty request; resolves with its status and the time it took. */
  const grpcCall = (port: number, method: string, timeout: string) =>
    new Promise<{ status: string; message: string; ms: number }>((resolve, reject) => {
      const startedAt = Date.now();
      const session = http2.connect(`http://127.0.0.1:${port}`);
      const req = session.request({ ":method": "POST", ":path": `/volly.signaling.v1.RoomService/${method}`, "content-type": "application/grpc", te: "trailers", "grpc-timeout": timeout, authorization: `Bearer ${operator}` });
      const done = (h: http2.IncomingHttpHeaders) => {
        session.close();
        resolve({ status: String(h["grpc-status"]), message: String(h["grpc-message"]), ms: Date.now() - startedAt });
      };
      req.on("response", (h) => h["grpc-status"] !== undefined && done(h));
      req.on("trailers", done);
      req.on("error", reject);
      req.resume();
      req.end(Buffer.alloc(5));
    });

  test("with the store stalled: Connect, gRPC and gRPC-web answer deadline_exceeded at the deadline, not after the store's 3 s", async () => {
    redis.pause();
    try {
      for (const port of [srv.apiPort, srv.port]) {
        let startedAt = Date.now();
        const connect = await fetch(url(port, "ListRooms"), {
          method: "POST",
          headers: { "content-type": "application/json", "connect-timeout-ms": "500", authorization: `Bearer ${operator}` },
          body: "{}",
        });
        const connectMs = Date.now() - startedAt;
        assert.equal(connect.status, 504);
        assert.deepEqual(await connect.json(), { code: "deadline_exceeded", message: DEADLINE });
        assert.ok(connectMs < 2000, `Connect answered after ${connectMs} ms`);

        // A mutating call too: it may still take effect, as the message says.
        const grpc = await grpcCall(port, "GetSessionStats", "500m");
        assert.equal(grpc.status, "4");
        assert.equal(grpc.message, grpcMessage(DEADLINE));
        assert.ok(grpc.ms < 2000, `gRPC answered after ${grpc.ms} ms`);

        startedAt = Date.now();
        const web = await fetch(url(port, "CreateRoom"), {
          method: "POST",
          headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", "grpc-timeout": "500m", authorization: `Bearer ${operator}` },
          body: Buffer.from([0, 0, 0, 0, 8, 0x0a, 0x06, ...Buffer.from("dl-web")]),
        });
        const text = Buffer.from(await web.arrayBuffer()).toString("latin1");
        const webMs = Date.now() - startedAt;
        assert.match(text, /grpc-status: ?4\r\n/);
        assert.equal(decodeURIComponent(/grpc-message: ?([^\r]*)\r\n/.exec(text)?.[1] ?? ""), DEADLINE);
        assert.ok(webMs < 2000, `gRPC-web answered after ${webMs} ms`);
      }
    } finally {
      redis.unpause();
    }
  });

  test("a call within its deadline answers as usual, and a call without one waits for the store", async () => {
    const api = createClient(RoomService, createGrpcTransport({ baseUrl: srv.apiUrl }));
    const h = { headers: { authorization: `Bearer ${operator}` } };
    const { rooms } = await api.listRooms({}, { ...h, timeoutMs: 5000 });
    assert.ok(Array.isArray(rooms));
    const ok = await fetch(url(srv.apiPort, "ListRooms"), {
      method: "POST",
      headers: { "content-type": "application/json", "connect-timeout-ms": "5000", authorization: `Bearer ${operator}` },
      body: "{}",
    });
    assert.equal(ok.status, 200);
    await ok.json();
    // Without a deadline, the store's own timeout still decides (store_timeout after 3 s).
    redis.pause();
    try {
      const slow = await fetch(url(srv.apiPort, "ListRooms"), {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${operator}` },
        body: "{}",
      });
      assert.equal(slow.status, 504);
      assert.deepEqual(await slow.json(), { code: "deadline_exceeded", message: "storage did not answer in time; the request may still take effect" });
    } finally {
      redis.unpause();
    }
  });
});
