import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { after, before, describe, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { AsyncQueue } from "../helpers/async-queue.js";
import { limitCount, startTestServer, type TestServer } from "../helpers/test-server.js";
import { within } from "../helpers/polling.js";

// gRPC reflection needs no token, so its streams are bounded on their own (docs/operations.md, "Connections
// without a token"): an idle deadline (VOLLY_HTTP_REQUEST_TIMEOUT, restarted by every request message) and
// a number per node (VOLLY_MAX_REFLECTION_STREAMS). Real clients: connect-node, grpc-js, raw node:http2.
// Waits are deadlines for behaviour, not timings.

const V1_PATH = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
const V1ALPHA_PATH = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
const LIST_SERVICES = create(v1.ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } });
/** list_services as request bytes: v1 and v1alpha are wire-identical. */
const LIST_SERVICES_BYTES = Buffer.from(toBinary(v1.ServerReflectionRequestSchema, LIST_SERVICES));

/** How a stream ended: OK, or its status code and message. */
interface Ending {
  readonly code: number;
  readonly message: string;
}

/** A reflection stream over connect-node's gRPC transport: ask, take answers, end, or see how it ended. */
class ConnectReflectionStream {
  readonly answers = new AsyncQueue<v1.ServerReflectionResponse>();
  readonly ended: Promise<Ending>;
  private readonly requests = new AsyncQueue<v1.ServerReflectionRequest>();

  constructor(baseUrl: string) {
    const client = createClient(v1.ServerReflection, createGrpcTransport({ baseUrl }));
    this.ended = (async () => {
      try {
        // A generator around the queue: connect-es needs the whole async iterator protocol (throw, return).
        const requests = (async function* (queue) {
          yield* queue;
        })(this.requests);
        for await (const answer of client.serverReflectionInfo(requests)) this.answers.push(answer);
        return { code: 0, message: "" };
      } catch (e) {
        const error = ConnectError.from(e);
        return { code: error.code, message: error.rawMessage };
      }
    })();
  }

  async listServices(): Promise<string[]> {
    this.requests.push(LIST_SERVICES);
    const answer = await this.answers.take(5000, "a list_services answer");
    assert.equal(answer.messageResponse.case, "listServicesResponse");
    return answer.messageResponse.case === "listServicesResponse" ? answer.messageResponse.value.service.map((s) => s.name) : [];
  }

  /** Half-closes (the way a tool is done) and resolves with how the server ended the stream. */
  end(): Promise<Ending> {
    this.requests.end();
    return this.ended;
  }
}

/** A reflection stream over grpc-js, on raw request and answer bytes. */
class GrpcJsReflectionStream {
  readonly answers = new AsyncQueue<Buffer>();
  readonly ended: Promise<Ending>;
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;

  constructor(client: grpc.Client, path: string) {
    this.call = client.makeBidiStreamRequest(path, (b: Buffer) => b, (b: Buffer) => b);
    this.call.on("data", (b: Buffer) => this.answers.push(b));
    // grpc-js reports a status that is not OK as an error too; the status is what the tests read.
    this.call.on("error", () => {});
    this.ended = new Promise((resolve) => this.call.on("status", (s: grpc.StatusObject) => resolve({ code: s.code, message: s.details })));
  }

  async listServices(): Promise<string> {
    this.call.write(LIST_SERVICES_BYTES);
    return (await this.answers.take(5000, "a list_services answer")).toString("latin1");
  }

  end(): Promise<Ending> {
    this.call.end();
    return this.ended;
  }
}

/**
 * A raw HTTP/2 connection whose client never ends its side of a stream, and may keep its flow-control window
 * shut (`initialWindowSize` 0: the server may send headers but no DATA, and on Node's HTTP/2 not even a
 * status). PINGs keep the connection from being idle, so only the server's bounds on a stream can end it.
 */
class RawConnection {
  private constructor(private readonly session: http2.ClientHttp2Session, private readonly drip: NodeJS.Timeout) {}

  static async open(url: string, initialWindowSize = 65_535): Promise<RawConnection> {
    const session = http2.connect(url, { settings: { initialWindowSize } });
    session.on("error", () => {});
    await new Promise((r) => session.once("remoteSettings", r));
    return new RawConnection(session, setInterval(() => session.ping(() => {}), 300));
  }

  /**
   * Opens a v1 reflection stream and asks `questions` times; resolves once the stream is closed, with its
   * RST_STREAM code and the grpc-status of the trailers, if any reached the client.
   */
  stream(questions: number): Promise<{ rstCode: number; grpcStatus: string | undefined }> {
    const stream = this.session.request({ ":method": "POST", ":path": V1_PATH, "content-type": "application/grpc", te: "trailers" });
    stream.on("error", () => {});
    stream.resume();
    let grpcStatus: string | undefined;
    stream.on("trailers", (t) => (grpcStatus = String(t["grpc-status"])));
    const closed = new Promise<{ rstCode: number; grpcStatus: string | undefined }>((resolve) => {
      stream.on("close", () => resolve({ rstCode: stream.rstCode ?? -1, grpcStatus }));
    });
    const frame = Buffer.alloc(5 + LIST_SERVICES_BYTES.length);
    frame.writeUInt32BE(LIST_SERVICES_BYTES.length, 1);
    LIST_SERVICES_BYTES.copy(frame, 5);
    for (let i = 0; i < questions; i++) stream.write(frame);
    return closed;
  }

  close(): void {
    clearInterval(this.drip);
    this.session.destroy();
  }
}

function grpcClient(port: number): grpc.Client {
  return new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

describe("a reflection stream is ended once it has asked nothing for the request timeout", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_HTTP_REQUEST_TIMEOUT: "1", VOLLY_HTTP_HEADERS_TIMEOUT: "1" });
  });
  after(() => srv.close());

  test("an idle stream gets reflection_idle (DEADLINE_EXCEEDED) while one that keeps asking stays open, v1 and v1alpha", async () => {
    const client = grpcClient(srv.apiPort);
    try {
      const idleV1 = new ConnectReflectionStream(srv.httpUrl);
      const idleV1alpha = new GrpcJsReflectionStream(client, V1ALPHA_PATH);
      // Asked once, then silent: the deadline counts from the last request message, not from the start.
      assert.match(await idleV1alpha.listServices(), /volly\.signaling\.v1\.RoomService/);
      const busy = new ConnectReflectionStream(srv.apiUrl);
      let asked = 0;
      const idleEnded = Promise.all([idleV1.ended, idleV1alpha.ended]);
      let idleDone = false;
      void idleEnded.then(() => (idleDone = true));
      const ask = async () => {
        assert.ok((await busy.listServices()).includes("volly.signaling.v1.SignalService"));
        asked++;
        await new Promise((r) => setTimeout(r, 100));
      };
      // A question every 100 ms until the idle streams have ended (ten deadlines at most), then on for more
      // than two deadlines.
      for (let i = 0; i < 100 && !idleDone; i++) await ask();
      assert.ok(idleDone, "the idle streams are still open after ten deadlines");
      for (const until = Date.now() + 2500; Date.now() < until;) await ask();
      const idle = await idleEnded;
      const expected = { code: Code.DeadlineExceeded, message: "no reflection request for 1 s; the stream is closed, open a new one to ask again" };
      assert.deepEqual(idle[0], expected, "connect-node, v1");
      assert.deepEqual(idle[1], { code: grpc.status.DEADLINE_EXCEEDED, message: expected.message }, "grpc-js, v1alpha");
      assert.ok(asked > 10, `asked ${asked} times`);
      assert.deepEqual(await within(busy.end(), 5000, "the busy stream ended"), { code: 0, message: "" }, "the busy stream ends as its client ends it");
    } finally {
      client.close();
    }
  });

  test("a stream whose client does not let it end is cancelled, asked or not, and its slot is freed", async () => {
    const stalled = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_HTTP_REQUEST_TIMEOUT: "1", VOLLY_HTTP_HEADERS_TIMEOUT: "1", VOLLY_MAX_REFLECTION_STREAMS: "1" });
    const reading = await RawConnection.open(stalled.httpUrl);
    const shut = await RawConnection.open(stalled.httpUrl, 0);
    const { NGHTTP2_CANCEL } = http2.constants;
    const cases: Array<[string, RawConnection, number, { rstCode: number; grpcStatus: string | undefined }]> = [
      // Gets its status but keeps its side open, which would keep the stream.
      ["reads, never ends its side", reading, 0, { rstCode: NGHTTP2_CANCEL, grpcStatus: String(grpc.status.DEADLINE_EXCEEDED) }],
      // Asked nothing, the idle status cannot reach the client.
      ["window shut, asked nothing", shut, 0, { rstCode: NGHTTP2_CANCEL, grpcStatus: undefined }],
      // Nor can the answers, and the server waits to write them (more than a stream buffers), not for a question.
      ["window shut, asked 200 times", shut, 200, { rstCode: NGHTTP2_CANCEL, grpcStatus: undefined }],
    ];
    try {
      for (const [what, conn, questions, expected] of cases) {
        assert.deepEqual(await within(conn.stream(questions), 10_000, `${what}: the stream ended`), expected, what);
        // The one slot is free again.
        const next = new ConnectReflectionStream(stalled.apiUrl);
        assert.ok((await next.listServices()).includes("volly.signaling.v1.RoomService"), what);
        assert.deepEqual(await next.end(), { code: 0, message: "" }, what);
      }
    } finally {
      reading.close();
      shut.close();
      await stalled.close();
    }
  });
});

describe("reflection streams open at once are capped per node (VOLLY_MAX_REFLECTION_STREAMS)", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_MAX_REFLECTION_STREAMS: "2" });
  });
  after(() => srv.close());

  test("the stream past the cap is refused at once with RESOURCE_EXHAUSTED and counted; a slot frees when a stream ends", async () => {
    const signalPort = grpcClient(srv.port);
    const apiPort = grpcClient(srv.apiPort);
    try {
      // One stream on each port: the cap is the node's, both ports together.
      const first = new GrpcJsReflectionStream(signalPort, V1_PATH);
      const second = new ConnectReflectionStream(srv.apiUrl);
      assert.match(await first.listServices(), /volly\.signaling\.v1\.RoomService/);
      assert.ok((await second.listServices()).includes("volly.signaling.v1.RoomService"));
      const before = await limitCount(srv, "reflection_streams");

      // Refused before it asks anything: the refusal does not wait for a question or a deadline.
      const message = "too many reflection streams open on this server (at most 2); try again when one has closed";
      const refusedGrpcJs = new GrpcJsReflectionStream(apiPort, V1ALPHA_PATH);
      assert.deepEqual(await within(refusedGrpcJs.ended, 5000, "the refusal"), { code: grpc.status.RESOURCE_EXHAUSTED, message });
      const refusedConnect = new ConnectReflectionStream(srv.httpUrl);
      assert.deepEqual(await within(refusedConnect.ended, 5000, "the refusal"), { code: Code.ResourceExhausted, message });
      // A refusal the client cannot take (its window shut) does not stay behind either.
      const stalled = await RawConnection.open(srv.httpUrl, 0);
      try {
        assert.deepEqual(await within(stalled.stream(0), 10_000, "the refused stalled stream ended"), { rstCode: http2.constants.NGHTTP2_CANCEL, grpcStatus: undefined });
      } finally {
        stalled.close();
      }
      assert.equal(await limitCount(srv, "reflection_streams"), before + 3);

      // The streams held are unaffected; one ends as a tool ends it, and its slot serves the next stream.
      assert.match(await first.listServices(), /volly\.signaling\.v1\.SignalService/);
      assert.deepEqual(await within(first.end(), 5000, "the first stream ended"), { code: grpc.status.OK, message: "" });
      const third = new GrpcJsReflectionStream(apiPort, V1ALPHA_PATH);
      assert.match(await third.listServices(), /volly\.signaling\.v1\.RoomService/);
      assert.deepEqual(await within(third.end(), 5000, "the third stream ended"), { code: grpc.status.OK, message: "" });
      assert.deepEqual(await within(second.end(), 5000, "the second stream ended"), { code: 0, message: "" });
      assert.equal(await limitCount(srv, "reflection_streams"), before + 3, "only refusals are counted");
    } finally {
      signalPort.close();
      apiPort.close();
    }
  });
});
