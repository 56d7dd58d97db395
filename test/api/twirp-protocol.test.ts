import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { RoomSchema } from "../../gen/livekit/livekit_models_pb.js";
import {
  CreateRoomRequestSchema,
  ListRoomsRequestSchema,
  ListRoomsResponseSchema,
  UpdateRoomMetadataRequestSchema,
} from "../../gen/livekit/livekit_room_pb.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { makeToken } from "../helpers/tokens.js";

// Twirp as Go and Python clients speak it (application/protobuf), and the protocol's edges, with plain fetch.
describe("/twirp/livekit.RoomService wire protocol", () => {
  let srv: TestServer;
  let admin: string;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
    admin = await makeToken({ identity: "", room: "tw-proto", grant: { roomJoin: false, roomCreate: true, roomList: true, roomAdmin: true } });
  });
  after(() => srv.close());

  const post = (base: string, method: string, contentType: string, body: Uint8Array | string, token = admin) =>
    fetch(`${base}/twirp/livekit.RoomService/${method}`, {
      method: "POST",
      headers: { "content-type": contentType, authorization: `Bearer ${token}` },
      // A fresh copy is a Uint8Array<ArrayBuffer>, which fetch's BodyInit type wants.
      body: typeof body === "string" ? body : new Uint8Array(body),
    });

  test("application/protobuf requests get application/protobuf answers (both ports)", async () => {
    const created = await post(srv.apiUrl, "CreateRoom", "application/protobuf", toBinary(CreateRoomRequestSchema, create(CreateRoomRequestSchema, { name: "tw-proto", metadata: "m" })));
    assert.equal(created.status, 200);
    assert.equal(created.headers.get("content-type"), "application/protobuf");
    const room = fromBinary(RoomSchema, new Uint8Array(await created.arrayBuffer()));
    assert.deepEqual([room.name, room.metadata], ["tw-proto", "m"]);
    assert.match(room.sid, /^RM_/);
    for (const base of [srv.apiUrl, srv.httpUrl]) {
      const listed = await post(base, "ListRooms", "application/protobuf", toBinary(ListRoomsRequestSchema, create(ListRoomsRequestSchema, { names: ["tw-proto"] })));
      assert.equal(listed.headers.get("content-type"), "application/protobuf");
      const rooms = fromBinary(ListRoomsResponseSchema, new Uint8Array(await listed.arrayBuffer())).rooms;
      assert.deepEqual(rooms.map((r) => r.sid), [room.sid]);
    }
  });

  test("errors are Twirp JSON even for protobuf requests", async () => {
    const res = await post(srv.apiUrl, "UpdateRoomMetadata", "application/protobuf", toBinary(UpdateRoomMetadataRequestSchema, create(UpdateRoomMetadataRequestSchema, { room: "tw-missing", metadata: "x" })), await makeToken({ identity: "", room: "tw-missing", grant: { roomJoin: false, roomAdmin: true } }));
    assert.equal(res.status, 404);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.deepEqual(await res.json(), { code: "not_found", msg: "requested room does not exist" });
    const unauthenticated = await fetch(`${srv.apiUrl}/twirp/livekit.RoomService/ListRooms`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(unauthenticated.status, 401);
    assert.deepEqual(await unauthenticated.json(), { code: "unauthenticated", msg: "no access token" });
  });

  test("JSON: either field-name style in, LiveKit's snake_case with defaults out", async () => {
    const res = await post(srv.apiUrl, "CreateRoom", "application/json", JSON.stringify({ name: "tw-json", empty_timeout: 42, maxParticipants: 3 }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.empty_timeout, 42);
    assert.equal(body.max_participants, 3);
    assert.equal(body.num_participants, 0);
    assert.equal(body.metadata, "");
    assert.match(String(body.creation_time_ms), /^\d+$/);
    // LiveKit's answers always carry the media fields, empty here: a client reading them must not crash.
    assert.deepEqual([body.enabled_codecs, body.turn_password], [[], ""]);
    // Unknown fields (newer LiveKit SDKs) are ignored, not refused.
    const tolerant = await post(srv.apiUrl, "ListRooms", "application/json;charset=UTF-8", JSON.stringify({ names: ["tw-json"], someFutureField: 1 }));
    assert.equal(((await tolerant.json()) as { rooms: unknown[] }).rooms.length, 1);
  });

  test("JSON participants carry LiveKit's media fields, empty", async () => {
    const alice = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "tw-alice", room: "tw-proto", pq: false });
    try {
      const res = await post(srv.apiUrl, "ListParticipants", "application/json", JSON.stringify({ room: "tw-proto" }));
      const body = (await res.json()) as { participants: Array<Record<string, unknown>> };
      assert.deepEqual(body.participants.map((p) => [p.identity, p.tracks, p.kind_details, p.data_tracks]), [["tw-alice", [], [], []]]);
    } finally {
      alice.kill();
    }
  });

  test("bad routes (Twirp's bad_route): unknown method, not POST, unexpected Content-Type", async () => {
    const unknown = await post(srv.apiUrl, "NoSuchMethod", "application/json", "{}");
    assert.equal(unknown.status, 404);
    assert.deepEqual(await unknown.json(), { code: "bad_route", msg: 'bad route: no method "/twirp/livekit.RoomService/NoSuchMethod"' });
    const otherService = await post(srv.apiUrl, "../livekit.Egress/StartRoomCompositeEgress", "application/json", "{}");
    assert.equal(otherService.status, 404);
    assert.equal(((await otherService.json()) as { code: string }).code, "bad_route");
    const get = await fetch(`${srv.apiUrl}/twirp/livekit.RoomService/ListRooms`);
    assert.equal(get.status, 404);
    const getBody = (await get.json()) as { code: string; msg: string };
    assert.equal(getBody.code, "bad_route");
    assert.match(getBody.msg, /use POST/);
    const text = await post(srv.apiUrl, "ListRooms", "text/plain", "{}");
    assert.equal(text.status, 404);
    const textBody = (await text.json()) as { code: string; msg: string };
    assert.equal(textBody.code, "bad_route");
    assert.match(textBody.msg, /unexpected Content-Type "text\/plain"/);
    // Names of Object.prototype's members are content types like any other, not lookups that find something.
    for (const type of ["constructor", "__proto__", "tostring"]) {
      const odd = await post(srv.apiUrl, "ListRooms", type, "{}");
      assert.equal(odd.status, 404, type);
      assert.deepEqual(await odd.json(), { code: "bad_route", msg: `bad route: unexpected Content-Type "${type}", use application/json or application/protobuf` });
    }
    const malformed = await post(srv.apiUrl, "ListRooms", "application/json", "{not json");
    assert.equal(malformed.status, 400);
    // Twirp's own code for a body that does not decode, as its Go servers (and LiveKit) answer.
    assert.deepEqual(await malformed.json(), { code: "malformed", msg: "malformed message: request body does not decode as livekit.ListRoomsRequest" });
  });

  test("LiveKit's media methods are known and answered unimplemented (501), saying why", async () => {
    for (const method of ["MutePublishedTrack", "UpdateSubscriptions", "ForwardParticipant", "MoveParticipant", "PerformRpc"]) {
      const res = await post(srv.apiUrl, method, "application/json", "{}");
      assert.equal(res.status, 501, method);
      assert.equal(res.headers.get("content-type"), "application/json");
      assert.deepEqual(await res.json(), { code: "unimplemented", msg: `${method} is not served: Volly relays signaling, not media` });
    }
  });
});
