import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { create, toBinary, type DescMessage, type DescMethodUnary } from "@bufbuild/protobuf";
import { BytesValueSchema, Int64ValueSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createConnectRouter, type Transport } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { compressionGzip, createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { RoomService } from "../../gen/volly/signaling/v1/room_service_pb.js";
import { requestBodyError } from "../../src/api/request-body-errors.js";
import { answerRequestErrorsFromCatalogue, grpcMessage } from "../../src/api/rpc-request-errors.js";
import { errorIdOf } from "../../src/errors.js";
import { createLogger } from "../../src/logger.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { makeToken } from "../helpers/tokens.js";

// Request bodies connect-es refuses before our code runs (bytes that do not decode, bodies over the API's
// 1 MiB) get the catalogue's errors, the same on Connect, gRPC, gRPC-web and Twirp, with the catalogue's
// words and none of connect-es's ("parse binary: premature EOF", "readMaxBytes"). Real clients: grpc-js
// with raw bytes, connect-node transports, fetch.
describe("request bodies that do not decode or are too large", () => {
  let srv: TestServer;
  let operator: string;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
    operator = await makeToken({ identity: "", room: "rb-room", grant: { roomJoin: false, roomCreate: true, roomList: true, roomAdmin: true } });
  });
  after(() => srv.close());

  const malformed = (type: string) => `malformed message: request body does not decode as ${type}`;
  const tooLarge = "request body larger than 1 MiB";
  const leaks = /parse binary|readMaxBytes|premature|cannot decode|JSON|Array\(/;
  const headers = () => ({ authorization: `Bearer ${operator}` });

  /** A unary gRPC call with grpc-js, sending `body` as the request message's bytes, unchanged. */
  const grpcJsRaw = (port: number, method: string, body: Buffer) =>
    new Promise<grpc.ServiceError>((resolve, reject) => {
      const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { "grpc.max_send_message_length": -1 });
      const md = new grpc.Metadata();
      md.set("authorization", `Bearer ${operator}`);
      client.makeUnaryRequest(`/volly.signaling.v1.RoomService/${method}`, (b: Buffer) => b, (b: Buffer) => b, body, md, (err) => {
        client.close();
        if (err) resolve(err);
        else reject(new Error(`${method} succeeded`));
      });
    });

  const transports = (port: number, binary = true): Array<[string, Transport]> => {
    const baseUrl = `http://127.0.0.1:${port}`;
    return [
      ["connect", createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: binary })],
      ["grpc", createGrpcTransport({ baseUrl, useBinaryFormat: binary })],
      ["grpc-web", createGrpcWebTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: binary })],
    ];
  };

  /** CreateRoom as the transport sees it, but sending a message of another type (its bytes or JSON). */
  const createRoomAs = <I extends DescMessage>(input: I) =>
    ({ ...RoomService.method.createRoom, input }) as unknown as DescMethodUnary<I, typeof RoomService.method.createRoom.output>;

  const failure = async (call: Promise<unknown>): Promise<ConnectError> => {
    try {
      await call;
    } catch (e) {
      return ConnectError.from(e);
    }
    assert.fail("expected the call to fail");
  };

  test("grpc-js raw bytes: garbage and invalid UTF-8 are invalid_argument malformed_message (both ports)", async () => {
    for (const port of [srv.apiPort, srv.port]) {
      const garbage = await grpcJsRaw(port, "ListRooms", Buffer.from([0xff, 0xff, 0xff]));
      assert.deepEqual([garbage.code, garbage.details], [grpc.status.INVALID_ARGUMENT, malformed("volly.signaling.v1.ListRoomsRequest")]);
      // Field 1 (name, a string) with bytes that are not UTF-8.
      const utf8 = await grpcJsRaw(port, "CreateRoom", Buffer.from([0x0a, 0x02, 0xff, 0xfe]));
      assert.deepEqual([utf8.code, utf8.details], [grpc.status.INVALID_ARGUMENT, malformed("volly.signaling.v1.CreateRoomRequest")]);
    }
  });

  test("connect-node transports: protobuf and JSON bodies that do not fit the message (both ports)", async () => {
    for (const port of [srv.apiPort, srv.port]) {
      for (const [name, transport] of transports(port)) {
        // BytesValue's field 1 is bytes; CreateRoomRequest's field 1 is a string, so this is invalid UTF-8.
        const e = await failure(transport.unary(createRoomAs(BytesValueSchema), undefined, undefined, headers(), { value: new Uint8Array([0xff, 0xfe]) }));
        assert.deepEqual([e.code, e.rawMessage], [Code.InvalidArgument, malformed("volly.signaling.v1.CreateRoomRequest")], `${name} on ${port}`);
        // Int64Value's field 1 is a varint where CreateRoomRequest wants a length-delimited string.
        const wire = await failure(transport.unary(createRoomAs(Int64ValueSchema), undefined, undefined, headers(), { value: 5n }));
        assert.deepEqual([wire.code, wire.rawMessage], [Code.InvalidArgument, malformed("volly.signaling.v1.CreateRoomRequest")], `${name} on ${port}`);
      }
      for (const [name, transport] of transports(port, false)) {
        // JSON `[1,2]`: valid JSON, but not an object.
        const list = create(ValueSchema, { kind: { case: "listValue", value: { values: [{ kind: { case: "numberValue", value: 1 } }, { kind: { case: "numberValue", value: 2 } }] } } });
        const e = await failure(transport.unary(createRoomAs(ValueSchema), undefined, undefined, headers(), list));
        assert.deepEqual([e.code, e.rawMessage], [Code.InvalidArgument, malformed("volly.signaling.v1.CreateRoomRequest")], `${name} JSON on ${port}`);
      }
    }
  });

  test("Connect and gRPC-web over plain HTTP (fetch): status, body and trailers in the catalogue's words", async () => {
    for (const base of [srv.apiUrl, srv.httpUrl]) {
      const post = (path: string, contentType: string, body: Uint8Array | string, extra: Record<string, string> = {}) =>
        fetch(`${base}/volly.signaling.v1.RoomService/${path}`, { method: "POST", headers: { "content-type": contentType, ...headers(), ...extra }, body: typeof body === "string" ? body : new Uint8Array(body) });
      const proto = await post("ListRooms", "application/proto", new Uint8Array([0xff, 0xff, 0xff]));
      assert.equal(proto.status, 400);
      assert.deepEqual(await proto.json(), { code: "invalid_argument", message: malformed("volly.signaling.v1.ListRoomsRequest") });
      for (const bad of ["[1,2]", "{not json", '{"name": 42}', '{"emptyTimeout": "soon"}']) {
        // gzip accepted: an error body connect-es compressed would be read too.
        const json = await post("CreateRoom", "application/json", bad, { "accept-encoding": "gzip" });
        assert.equal(json.status, 400, bad);
        assert.deepEqual(await json.json(), { code: "invalid_argument", message: malformed("volly.signaling.v1.CreateRoomRequest") }, bad);
      }
      // Connect GET (ListRooms has no side effects): the message is a query parameter, base64 or JSON.
      for (const query of ["encoding=proto&base64=1&message=__8", "encoding=proto&base64=1&message=!!!!", "encoding=json&message=%5B1,2%5D"]) {
        const get = await fetch(`${base}/volly.signaling.v1.RoomService/ListRooms?connect=v1&${query}`, { headers: headers() });
        assert.equal(get.status, 400, query);
        assert.deepEqual(await get.json(), { code: "invalid_argument", message: "malformed message: the message query parameter does not decode as volly.signaling.v1.ListRoomsRequest" }, query);
      }
      const web = await post("ListRooms", "application/grpc-web+proto", new Uint8Array([0, 0, 0, 0, 3, 0xff, 0xff, 0xff]));
      assert.equal(web.status, 200);
      const text = Buffer.from(await web.arrayBuffer());
      assert.equal(text[0], 0x80, "a trailer frame");
      const trailer = text.subarray(5).toString("utf8");
      assert.match(trailer, /^grpc-status: 3\r$/m);
      assert.ok(trailer.includes(`grpc-message: ${malformed("volly.signaling.v1.ListRoomsRequest")}\r\n`), trailer);
      assert.doesNotMatch(trailer, leaks);
      // A truncated envelope (promises 9 bytes, sends 3) is the same mistake.
      const cut = await post("ListRooms", "application/grpc-web+proto", new Uint8Array([0, 0, 0, 0, 9, 1, 2, 3]));
      assert.match(Buffer.from(await cut.arrayBuffer()).subarray(5).toString("utf8"), /^grpc-status: 3\r$/m);
    }
  });

  test("Twirp: the same bytes are Twirp's malformed (400) with the same message", async () => {
    const post = (contentType: string, body: Uint8Array | string) =>
      fetch(`${srv.apiUrl}/twirp/livekit.RoomService/CreateRoom`, { method: "POST", headers: { "content-type": contentType, ...headers() }, body: typeof body === "string" ? body : new Uint8Array(body) });
    for (const [type, body] of [["application/protobuf", new Uint8Array([0xff, 0xff, 0xff])], ["application/protobuf", new Uint8Array([0x0a, 0x02, 0xff, 0xfe])], ["application/json", "[1,2]"], ["application/json", "{not json"]] as const) {
      const res = await post(type, body);
      assert.equal(res.status, 400);
      assert.equal(res.headers.get("content-type"), "application/json");
      assert.deepEqual(await res.json(), { code: "malformed", msg: malformed("livekit.CreateRoomRequest") });
    }
  });

  test("a body over 1 MiB is resource_exhausted request_too_large on every transport, and the connection still serves", async () => {
    const payload = new Uint8Array(2 << 20);
    for (const port of [srv.apiPort, srv.port]) {
      for (const [name, transport] of transports(port)) {
        const api = createClient(RoomService, transport);
        const e = await failure(api.sendData({ room: "rb-room", payload }, { headers: headers() }));
        assert.deepEqual([e.code, e.rawMessage], [Code.ResourceExhausted, tooLarge], `${name} on ${port}`);
        assert.equal((await api.listRooms({}, { headers: headers() })).rooms.length >= 0, true, `${name} after the refusal`);
      }
      const raw = await grpcJsRaw(port, "SendData", Buffer.alloc(2 << 20));
      assert.deepEqual([raw.code, raw.details], [grpc.status.RESOURCE_EXHAUSTED, tooLarge]);
    }
    // Small on the wire, over the limit once decompressed: the same answer.
    const gzipped = createClient(RoomService, createGrpcTransport({ baseUrl: srv.apiUrl, sendCompression: compressionGzip, compressMinBytes: 1 }));
    const inflated = await failure(gzipped.sendData({ room: "rb-room", payload }, { headers: headers() }));
    assert.deepEqual([inflated.code, inflated.rawMessage], [Code.ResourceExhausted, tooLarge]);

    const connect = await fetch(`${srv.apiUrl}/volly.signaling.v1.RoomService/SendData`, { method: "POST", headers: { "content-type": "application/proto", ...headers() }, body: new Uint8Array(payload) });
    assert.equal(connect.status, 429);
    assert.deepEqual(await connect.json(), { code: "resource_exhausted", message: tooLarge });
    for (const type of ["application/protobuf", "application/json"]) {
      const twirp = await fetch(`${srv.apiUrl}/twirp/livekit.RoomService/SendData`, { method: "POST", headers: { "content-type": type, ...headers() }, body: new Uint8Array(payload) });
      assert.equal(twirp.status, 429, type);
      assert.deepEqual(await twirp.json(), { code: "resource_exhausted", msg: tooLarge }, type);
    }
    // Under the limit is served as usual.
    const fine = await fetch(`${srv.apiUrl}/twirp/livekit.RoomService/ListRooms`, { method: "POST", headers: { "content-type": "application/json", ...headers() }, body: "{}" });
    assert.equal(fine.status, 200);
  });

  test("a message flagged compressed without grpc-encoding is internal in the catalogue's words (gRPC over h2, gRPC-web, both ports)", async () => {
    const expected = "a message is flagged compressed but the request names no encoding (grpc-encoding); send it uncompressed or name its encoding";
    const flagged = Buffer.from([0x01, 0, 0, 0, 0]);
    for (const port of [srv.apiPort, srv.port]) {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const req = session.request({ ":method": "POST", ":path": "/volly.signaling.v1.RoomService/GetSessionStats", "content-type": "application/grpc", te: "trailers", ...headers() });
        req.on("trailers", resolve);
        req.on("response", (h) => {
          if (h["grpc-status"] !== undefined) resolve(h);
        });
        req.on("error", reject);
        req.resume();
        req.end(flagged);
      });
      session.close();
      assert.equal(trailers["grpc-status"], String(grpc.status.INTERNAL));
      assert.equal(decodeURIComponent(String(trailers["grpc-message"])), expected);
      const web = await fetch(`http://127.0.0.1:${port}/volly.signaling.v1.RoomService/GetSessionStats`, {
        method: "POST",
        headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", ...headers() },
        body: flagged,
      });
      const text = Buffer.from(await web.arrayBuffer()).toString("latin1");
      assert.match(text, /grpc-status: ?13/);
      assert.ok(text.includes(`grpc-message: ${grpcMessage(expected)}`), text);
      assert.doesNotMatch(text, /do not know how to decompress/);
    }
  });

  test("other refusals keep their answers: header errors, catalogue errors (verbatim over grpc-js), success", async () => {
    const timeout = await fetch(`${srv.apiUrl}/volly.signaling.v1.RoomService/ListRooms`, { method: "POST", headers: { "content-type": "application/json", "connect-timeout-ms": "soon", ...headers() }, body: "{}" });
    assert.equal(timeout.status, 400);
    assert.match(((await timeout.json()) as { message: string }).message, /timeout/);
    const noName = await failure(createClient(RoomService, createGrpcTransport({ baseUrl: srv.apiUrl })).createRoom({ name: "" }, { headers: headers() }));
    assert.deepEqual([noName.code, noName.rawMessage], [Code.InvalidArgument, "no room name"]);
    // A catalogue message with ':' and '"' arrives as written: grpc-message is percent-encoded as gRPC says.
    const listOnly = await makeToken({ identity: "", room: "rb-room", grant: { roomJoin: false, roomList: true } });
    const client = new grpc.Client(`127.0.0.1:${srv.apiPort}`, grpc.credentials.createInsecure());
    const denied = await new Promise<grpc.ServiceError | null>((resolve) => {
      const md = new grpc.Metadata();
      md.set("authorization", `Bearer ${listOnly}`);
      const body = Buffer.from(toBinary(RoomService.method.listParticipants.input, create(RoomService.method.listParticipants.input, { room: "rb-room" })));
      client.makeUnaryRequest("/volly.signaling.v1.RoomService/ListParticipants", (b: Buffer) => b, (b: Buffer) => b, body, md, (err) => resolve(err));
    });
    client.close();
    assert.deepEqual([denied?.code, denied?.details], [grpc.status.PERMISSION_DENIED, 'permission denied: needs the roomAdmin grant for room "rb-room"']);
    const ok = await createClient(RoomService, createGrpcTransport({ baseUrl: srv.apiUrl })).listRooms({}, { headers: headers() });
    assert.ok(Array.isArray(ok.rooms));
  });
});

describe("request body errors: classification and answers (units)", () => {
  const input = RoomService.method.createRoom.input;
  const id = (code: Code, message: string) => errorIdOf(requestBodyError(code, message, input, 1 << 20));

  test("decode failures and size limits become catalogue errors; header errors and other internals do not", () => {
    assert.equal(id(Code.Internal, "parse binary: premature EOF"), "malformed_message");
    assert.equal(id(Code.Internal, "parse binary: The encoded data was not valid for encoding utf-8"), "malformed_message");
    assert.equal(id(Code.InvalidArgument, "cannot decode message volly.signaling.v1.CreateRoomRequest from JSON: Array(2)"), "malformed_message");
    assert.equal(id(Code.InvalidArgument, "cannot decode field volly.signaling.v1.CreateRoomRequest.empty_timeout from JSON: \"x\""), "malformed_message");
    assert.equal(id(Code.InvalidArgument, "Unexpected token 'o', \"{not json\" is not valid JSON"), "malformed_message");
    assert.equal(id(Code.InvalidArgument, "protocol error: incomplete envelope"), "malformed_message");
    assert.equal(id(Code.InvalidArgument, "decompression failed"), "malformed_message");
    assert.equal(id(Code.ResourceExhausted, "message size 2097152 is larger than configured readMaxBytes 1048576"), "request_too_large");
    assert.equal(id(Code.ResourceExhausted, "message is larger than configured readMaxBytes 1048576 after decompression"), "request_too_large");
    assert.equal(id(Code.InvalidArgument, "protocol error: invalid grpc timeout value: 1Q"), undefined);
    assert.equal(id(Code.InvalidArgument, "protocol error: invalid connect timeout value: soon"), undefined);
    assert.equal(id(Code.InvalidArgument, 'missing required header: set connect-protocol-version to "1"'), undefined);
    assert.equal(id(Code.Internal, "internal error"), undefined);
    assert.equal(id(Code.Internal, "received compressed envelope, but do not know how to decompress"), "compressed_without_encoding");
    // A Connect GET decodes only its query before the implementation: base64 that does not decode.
    assert.equal(errorIdOf(requestBodyError(Code.Internal, "internal error", input, 1 << 20, true)), "malformed_message");
    assert.equal(id(Code.Unimplemented, "protocol error: missing input message for unary method"), undefined);
    const e = requestBodyError(Code.Internal, "parse binary: premature EOF", input, 1 << 20);
    assert.equal(e?.rawMessage, "malformed message: request body does not decode as volly.signaling.v1.CreateRoomRequest");
  });

  test("grpc-message is percent-encoded as the gRPC spec says", () => {
    assert.equal(grpcMessage('permission denied: room "a/b" 100%'), 'permission denied: room "a/b" 100%25');
    assert.equal(grpcMessage("é\n"), "%C3%A9%0A");
    assert.equal(decodeURIComponent(grpcMessage("a: é % b")), "a: é % b");
  });

  test("a Connect error body connect-es compressed is read and answered uncompressed", async () => {
    const router = createConnectRouter();
    router.service(RoomService, {});
    const handlers: UniversalHandler[] = [
      Object.assign(async () => ({
        status: 500,
        header: new Headers({ "content-type": "application/json", "content-encoding": "gzip" }),
        body: (async function* () {
          yield gzipSync(JSON.stringify({ code: "internal", message: "parse binary: premature EOF" }));
        })(),
      }), router.handlers[0] as UniversalHandler),
    ];
    answerRequestErrorsFromCatalogue(handlers, 0, 1 << 20, createLogger("silent"));
    const handler = handlers[0] as UniversalHandler;
    const res = await handler({ httpVersion: "1.1", url: "http://x/", method: "POST", header: new Headers(), body: (async function* () {})(), signal: new AbortController().signal });
    const chunks: Uint8Array[] = [];
    for await (const c of res.body ?? []) chunks.push(c);
    assert.equal(res.status, 400);
    assert.equal(res.header?.get("content-encoding"), null);
    assert.deepEqual(JSON.parse(Buffer.concat(chunks).toString("utf8")), { code: "invalid_argument", message: `malformed message: request body does not decode as ${handler.method.input.typeName}` });
  });
});
