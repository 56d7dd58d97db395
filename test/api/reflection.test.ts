import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { create, createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { makeToken } from "../helpers/tokens.js";

const BUF = new URL("../../node_modules/.bin/buf", import.meta.url).pathname;
const SERVICES = [
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "volly.signaling.v1.RoomService",
  "volly.signaling.v1.SignalService",
];

/** Runs `buf curl` (the Go reflection client shipped in @bufbuild/buf) and returns its exit code and output. */
function bufCurl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe("gRPC server reflection (v1 and v1alpha) on both ports", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.close());

  test("buf curl lists services on both ports, with grpc-v1 and grpc-v1alpha", async () => {
    for (const port of [srv.port, srv.apiPort]) {
      for (const protocol of ["grpc-v1", "grpc-v1alpha"]) {
        const out = await bufCurl(["--reflect-protocol", protocol, "--list-services", `http://127.0.0.1:${port}`]);
        assert.equal(out.code, 0, out.stderr);
        assert.deepEqual(out.stdout.trim().split("\n").sort(), SERVICES, `${protocol} on ${port}`);
      }
    }
    const methods = await bufCurl(["--list-methods", `http://127.0.0.1:${srv.apiPort}`]);
    assert.equal(methods.code, 0, methods.stderr);
    assert.ok(methods.stdout.includes("volly.signaling.v1.RoomService/GetSessionStats"));
  });

  test("buf curl calls RoomService methods through reflection, with a bearer token", async () => {
    const token = await makeToken({ identity: "", grant: { roomJoin: false, roomList: true, roomCreate: true } });
    const auth = ["-H", `authorization: Bearer ${token}`];
    const created = await bufCurl([...auth, "-d", '{"name":"reflected","metadata":"via buf curl"}', `http://127.0.0.1:${srv.apiPort}/volly.signaling.v1.RoomService/CreateRoom`]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal((JSON.parse(created.stdout) as { room: { name: string } }).room.name, "reflected");
    const listed = await bufCurl([...auth, "--reflect-protocol", "grpc-v1alpha", `http://127.0.0.1:${srv.port}/volly.signaling.v1.RoomService/ListRooms`]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual((JSON.parse(listed.stdout) as { rooms: Array<{ metadata: string }> }).rooms.map((r) => r.metadata), ["via buf curl"]);
    const stats = await bufCurl([...auth, `http://127.0.0.1:${srv.apiPort}/volly.signaling.v1.RoomService/GetSessionStats`]);
    assert.equal(stats.code, 0, stats.stderr);
    const parsed = JSON.parse(stats.stdout) as { algorithm: string; pqEnabled: boolean; nodeId: string };
    assert.deepEqual([parsed.algorithm, parsed.pqEnabled, parsed.nodeId], ["ML-KEM-768", true, srv.config.nodeId]);
    const refused = await bufCurl([`http://127.0.0.1:${srv.apiPort}/volly.signaling.v1.RoomService/ListRooms`]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /unauthenticated/);
    assert.match(refused.stderr, /no access token/);
  });

  test("descriptors come with their imports and load into a registry; unknown names get NOT_FOUND", async () => {
    const transport = createGrpcTransport({ baseUrl: srv.httpUrl });
    const ask = async (messageRequest: v1.ServerReflectionRequest["messageRequest"]) => {
      const requests = (async function* () {
        yield create(v1.ServerReflectionRequestSchema, { host: "localhost", messageRequest });
      })();
      for await (const res of createClient(v1.ServerReflection, transport).serverReflectionInfo(requests)) return res;
      throw new Error("no reflection response");
    };
    const filesOf = (res: v1.ServerReflectionResponse) => {
      assert.equal(res.messageResponse.case, "fileDescriptorResponse");
      return res.messageResponse.case === "fileDescriptorResponse"
        ? res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b))
        : [];
    };

    const signal = filesOf(await ask({ case: "fileByFilename", value: "volly/signaling/v1/signal.proto" }));
    assert.deepEqual(signal.map((f) => f.name).sort(), ["volly/signaling/v1/models.proto", "volly/signaling/v1/pq.proto", "volly/signaling/v1/signal.proto"]);
    assert.equal(signal[0]?.name, "volly/signaling/v1/signal.proto");
    const [main] = signal;
    assert.ok(main);
    const registry = createFileRegistry(main, (name) => signal.find((f) => f.name === name));
    assert.equal(registry.getService("volly.signaling.v1.SignalService")?.methods[0]?.name, "Signal");

    for (const symbol of ["volly.signaling.v1.RoomService", "volly.signaling.v1.RoomService.ListRooms", "volly.signaling.v1.GetSessionStatsResponse"]) {
      const files = filesOf(await ask({ case: "fileContainingSymbol", value: symbol }));
      assert.deepEqual(files.map((f) => f.name), ["volly/signaling/v1/room_service.proto", "volly/signaling/v1/models.proto"], symbol);
    }
    assert.equal(filesOf(await ask({ case: "fileContainingSymbol", value: "volly.signaling.v1.ParticipantInfo.pq_public_key" }))[0]?.name, "volly/signaling/v1/models.proto");

    const unknown = await ask({ case: "fileContainingSymbol", value: "livekit.RoomService" });
    assert.equal(unknown.messageResponse.case, "errorResponse");
    assert.equal(unknown.messageResponse.case === "errorResponse" ? unknown.messageResponse.value.errorCode : 0, 5);
    const extensions = await ask({ case: "allExtensionNumbersOfType", value: "volly.signaling.v1.Room" });
    assert.deepEqual(extensions.messageResponse.value, create(v1.ExtensionNumberResponseSchema, { baseTypeName: "volly.signaling.v1.Room" }));
    assert.equal((await ask({ case: undefined })).messageResponse.case, "errorResponse");

    // v1alpha answers the same questions the same way.
    const alpha = createClient(v1alpha.ServerReflection, transport).serverReflectionInfo(
      (async function* () {
        yield create(v1alpha.ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } });
      })(),
    );
    for await (const res of alpha) {
      assert.equal(res.messageResponse.case, "listServicesResponse");
      if (res.messageResponse.case === "listServicesResponse") {
        assert.deepEqual(res.messageResponse.value.service.map((s) => s.name).sort(), SERVICES);
      }
      break;
    }
  });
});
