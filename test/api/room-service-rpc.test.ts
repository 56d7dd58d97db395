import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { DisconnectReason } from "../../gen/volly/signaling/v1/models_pb.js";
import {
  CreateRoomRequestSchema,
  CreateRoomResponseSchema,
  ListRoomsRequestSchema,
  ListRoomsResponseSchema,
  RoomService,
} from "../../gen/volly/signaling/v1/room_service_pb.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { makeToken } from "../helpers/tokens.js";
import { closedWithin } from "./connection-end.js";

// volly.signaling.v1.RoomService through real RPC clients: connect-node (Connect over HTTP/1.1, gRPC over
// h2c, gRPC-web) and grpc-js, on both ports, with post-quantum participants.
describe("volly RoomService over Connect, gRPC, gRPC-web and grpc-js", () => {
  let srv: TestServer;
  let operator: string;
  const clients: TestClient[] = [];
  before(async () => {
    srv = await startTestServer();
    operator = await makeToken({ identity: "", room: "rpc-room", grant: { roomJoin: false, roomCreate: true, roomList: true, roomAdmin: true } });
  });
  after(async () => {
    for (const c of clients) c.kill();
    await srv.close();
  });

  const transports = (port: number): Array<[string, Transport]> => {
    const baseUrl = `http://127.0.0.1:${port}`;
    return [
      ["connect http/1.1", createConnectTransport({ baseUrl, httpVersion: "1.1" })],
      ["grpc h2c", createGrpcTransport({ baseUrl })],
      ["grpc-web http/1.1", createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
    ];
  };
  const headers = (token: string) => ({ authorization: `Bearer ${token}` });

  const rpcError = async (call: Promise<unknown>): Promise<ConnectError> => {
    try {
      await call;
    } catch (e) {
      return ConnectError.from(e);
    }
    assert.fail("expected the call to fail");
  };

  test("every transport on both ports: create, list, participants, metadata, data, stats", async () => {
    const alice = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "rpc-alice", room: "rpc-room", pq: "ML-KEM-768" });
    clients.push(alice);
    for (const port of [srv.apiPort, srv.port]) {
      for (const [name, transport] of transports(port)) {
        const api: Client<typeof RoomService> = createClient(RoomService, transport);
        const h = { headers: headers(operator) };
        const created = await api.createRoom({ name: "rpc-room" }, h);
        assert.equal(created.created, false, name);
        assert.equal(created.room?.numParticipants, 1, name);
        const listed = await api.listRooms({ names: ["rpc-room"] }, h);
        assert.deepEqual(listed.rooms.map((r) => r.name), ["rpc-room"], name);
        const people = await api.listParticipants({ room: "rpc-room" }, h);
        assert.deepEqual(people.participants.map((p) => p.identity), ["rpc-alice"], name);
        assert.equal(people.participants[0]?.pqAlgorithm, "", name);
        const one = await api.getParticipant({ room: "rpc-room", identity: "rpc-alice" }, h);
        assert.equal(one.participant?.sid, alice.join?.participant?.sid, name);
        const metadata = `meta via ${name} on ${port}`;
        assert.equal((await api.updateRoomMetadata({ room: "rpc-room", metadata }, h)).room?.metadata, metadata);
        assert.equal((await alice.waitFor("roomUpdate", (u) => u.room?.metadata === metadata)).room?.name, "rpc-room");
        const sent = await api.sendData({ room: "rpc-room", payload: new Uint8Array([1, 2]), topic: name, id: `id-${port}` }, h);
        assert.deepEqual([sent.recipients, sent.id], [1, `id-${port}`], name);
        assert.equal((await alice.waitFor("data", (d) => d.topic === name)).id, `id-${port}`);
        const renamed = await api.updateParticipant({ room: "rpc-room", identity: "rpc-alice", name: `Alice ${port}` }, h);
        assert.equal(renamed.participant?.name, `Alice ${port}`);
        const stats = await api.getSessionStats({}, h);
        assert.deepEqual([stats.algorithm, stats.pqEnabled, stats.activeSessions >= 1n], ["ML-KEM-768", true, true], name);
      }
    }
  });

  test("GetSessionStats gives the numbers of GET /volly/sessions/stats", async () => {
    const bob = await TestClient.connect({ kind: "grpc-js", port: srv.port, identity: "rpc-bob", room: "rpc-stats", pq: "ML-KEM-768" });
    clients.push(bob);
    const api = createClient(RoomService, createConnectTransport({ baseUrl: srv.apiUrl, httpVersion: "1.1" }));
    const rest = (await (await fetch(`${srv.apiUrl}/volly/sessions/stats`)).json()) as Record<string, number | string>;
    // A token with only roomAdmin (of any room) may read the stats too.
    const roomAdmin = await makeToken({ identity: "", room: "elsewhere", grant: { roomJoin: false, roomAdmin: true } });
    const rpc = await api.getSessionStats({}, { headers: headers(roomAdmin) });
    assert.deepEqual(
      [Number(rpc.activeSessions), Number(rpc.expiredSessions), Number(rpc.totalSessions), rpc.algorithm, rpc.nodeId],
      [rest.active_sessions, rest.expired_sessions, rest.total_sessions, rest.algorithm, rest.node_id],
    );
    assert.ok(rpc.activeSessions >= 2n && rpc.totalSessions >= rpc.activeSessions);
    const joinOnly = await makeToken({ identity: "x", room: "rpc-stats" });
    const denied = await rpcError(api.getSessionStats({}, { headers: headers(joinOnly) }));
    assert.deepEqual([denied.code, denied.rawMessage], [Code.PermissionDenied, "permission denied: session stats need the roomList or roomAdmin grant"]);
  });

  test("grpc-js: unary calls with metadata, and status codes with messages", async () => {
    const client = new grpc.Client(`127.0.0.1:${srv.apiPort}`, grpc.credentials.createInsecure());
    const call = <I extends DescMessage, O extends DescMessage>(method: string, input: I, output: O, req: MessageShape<I>, token?: string) =>
      new Promise<MessageShape<O>>((resolve, reject) => {
        const md = new grpc.Metadata();
        if (token !== undefined) md.set("authorization", `Bearer ${token}`);
        client.makeUnaryRequest(
          `/volly.signaling.v1.RoomService/${method}`,
          (m: MessageShape<I>) => Buffer.from(toBinary(input, m)),
          (b: Buffer) => fromBinary(output, b),
          req,
          md,
          (err, res) => (err || res === undefined ? reject(err) : resolve(res)),
        );
      });
    try {
      const created = await call("CreateRoom", CreateRoomRequestSchema, CreateRoomResponseSchema, create(CreateRoomRequestSchema, { name: "rpc-grpcjs", metadata: "m" }), operator);
      assert.deepEqual([created.created, created.room?.metadata], [true, "m"]);
      const listed = await call("ListRooms", ListRoomsRequestSchema, ListRoomsResponseSchema, create(ListRoomsRequestSchema, { names: ["rpc-grpcjs"] }), operator);
      assert.equal(listed.rooms.length, 1);
      const unauthenticated = await call("ListRooms", ListRoomsRequestSchema, ListRoomsResponseSchema, create(ListRoomsRequestSchema), undefined).catch((e: grpc.ServiceError) => e);
      assert.ok(unauthenticated instanceof Error);
      assert.deepEqual([(unauthenticated as grpc.ServiceError).code, (unauthenticated as grpc.ServiceError).details], [grpc.status.UNAUTHENTICATED, "no access token"]);
    } finally {
      client.close();
    }
  });

  test("errors: unauthenticated, permission_denied, not_found, invalid_argument", async () => {
    const api = createClient(RoomService, createGrpcTransport({ baseUrl: srv.apiUrl }));
    const listOnly = await makeToken({ identity: "", grant: { roomJoin: false, roomList: true } });
    assert.equal((await rpcError(api.listRooms({}))).code, Code.Unauthenticated);
    assert.equal((await rpcError(api.listRooms({}, { headers: { authorization: "Basic abc" } }))).code, Code.Unauthenticated);
    const denied = await rpcError(api.deleteRoom({ room: "rpc-room" }, { headers: headers(listOnly) }));
    assert.deepEqual([denied.code, denied.rawMessage], [Code.PermissionDenied, "permission denied: creating or deleting rooms needs the roomCreate grant"]);
    assert.equal((await rpcError(api.removeParticipant({ room: "rpc-room", identity: "rpc-alice" }, { headers: headers(listOnly) }))).code, Code.PermissionDenied);
    const missing = await rpcError(api.deleteRoom({ room: "rpc-none" }, { headers: headers(operator) }));
    assert.deepEqual([missing.code, missing.rawMessage], [Code.NotFound, "requested room does not exist"]);
    const noName = await rpcError(api.createRoom({ name: "" }, { headers: headers(operator) }));
    assert.deepEqual([noName.code, noName.rawMessage], [Code.InvalidArgument, "no room name"]);
    const big = await rpcError(api.sendData({ room: "rpc-room", payload: new Uint8Array(srv.config.limits.maxDataBytes + 1) }, { headers: headers(operator) }));
    assert.equal(big.code, Code.InvalidArgument);
  });

  test("RemoveParticipant and DeleteRoom reach a gRPC participant", async () => {
    const api = createClient(RoomService, createConnectTransport({ baseUrl: srv.apiUrl, httpVersion: "1.1" }));
    const admin = await makeToken({ identity: "", room: "rpc-kick", grant: { roomJoin: false, roomAdmin: true, roomCreate: true } });
    const carol = await TestClient.connect({ kind: "grpc-js", port: srv.port, identity: "rpc-carol", room: "rpc-kick", pq: "ML-KEM-768" });
    const dave = await TestClient.connect({ kind: "ws-flat", port: srv.port, identity: "rpc-dave", room: "rpc-kick", pq: "ML-KEM-768" });
    clients.push(carol, dave);
    await api.removeParticipant({ room: "rpc-kick", identity: "rpc-carol" }, { headers: headers(admin) });
    assert.equal((await carol.waitFor("leave")).reason, DisconnectReason.PARTICIPANT_REMOVED);
    assert.equal((await closedWithin(carol)).code, 1000);
    const removed = await api.deleteRoom({ room: "rpc-kick" }, { headers: headers(admin) });
    assert.equal(removed.removedParticipants, 1);
    assert.equal((await dave.waitFor("leave")).reason, DisconnectReason.ROOM_DELETED);
    assert.equal((await closedWithin(dave)).code, 1000);
  });
});
