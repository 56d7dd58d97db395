// Identities and room names that begin with U+FEFF keep it everywhere. The character is valid in a name
// (api.md "Limits"), but a default TextDecoder takes it for a byte order mark and drops it. It used to be
// dropped by the server's protobuf decoding: "\ufeffbob" then read back as "bob" in its own join, in the
// others' updates, in `data.from` and in ListParticipants. Both stores read their records back as
// protobuf, so such a participant no longer matched its own index entries. It was never removed after a
// drop, and these ghosts filled rooms. A binary RoomService request for "\ufeffX" addressed room X.
// Real clients over WebSocket protobuf and gRPC, on the memory store, on Redis and across two Redis nodes.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { RoomService } from "../../gen/volly/signaling/v1/room_service_pb.js";
import type { ChannelKind } from "../helpers/channels.js";
import type { NodeProcess } from "../helpers/node-process.js";
import { REDIS_URL, redisSkip } from "../helpers/redis.js";
import { STORES, storeSkip, useServerOn } from "../helpers/server-on-store.js";
import { TestClient } from "../helpers/signal-client.js";
import { makeToken } from "../helpers/tokens.js";
import { Cluster } from "../cluster/cluster-fixture.js";

const BOM = "\ufeff";
const RESUME_WINDOW_SECONDS = "1";
const SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

function participant(port: number, kind: ChannelKind, identity: string, room: string): Promise<TestClient> {
  return TestClient.connect({ kind, port, identity, room, pq: "ML-KEM-768" });
}

/** The binary RoomService transports (protobuf request bodies) on `port`. */
function binaryTransports(port: number): Array<[string, Transport]> {
  const baseUrl = `http://127.0.0.1:${port}`;
  return [
    ["grpc", createGrpcTransport({ baseUrl })],
    ["connect-proto", createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true })],
  ];
}

/** An operator's headers: room admin of `room` (the grant names one room), room creation and listing. */
async function operatorHeaders(room: string): Promise<{ headers: Record<string, string> }> {
  const token = await makeToken({ identity: "", room, grant: { roomJoin: false, roomCreate: true, roomList: true, roomAdmin: true } });
  return { headers: { authorization: `Bearer ${token}` } };
}

/** `observer` sees `identity` leave (DISCONNECTED), as it must once the resume window has passed. */
async function seesLeave(observer: TestClient, identity: string): Promise<void> {
  await observer.waitFor(
    "participantUpdate",
    (u) => u.participants.some((p) => p.identity === identity && p.state === ParticipantState.DISCONNECTED),
    15_000,
  );
}

for (const store of STORES) {
  describe(`names beginning with U+FEFF, ${store} store`, { skip: await storeSkip(store) }, () => {
    const srv = useServerOn(store, "bom-names", { VOLLY_RESUME_WINDOW: RESUME_WINDOW_SECONDS });
    const clients: TestClient[] = [];
    after(() => {
      for (const c of clients) c.kill();
    });
    const join = async (kind: ChannelKind, identity: string, room: string): Promise<TestClient> => {
      const c = await participant(srv.port, kind, identity, room);
      clients.push(c);
      return c;
    };

    test("identity and room name round-trip intact over WebSocket protobuf and gRPC", async () => {
      const room = `${BOM}bom-room-${store}`;
      const plainBob = await join("grpc-js", "bob", room);
      const bomBob = await join("ws-protobuf", `${BOM}bob`, room);
      const carol = await join("grpc-js", "carol", room);
      assert.equal(bomBob.join?.participant?.identity, `${BOM}bob`);
      assert.equal(bomBob.join?.room?.name, room);
      assert.deepEqual(bomBob.join?.otherParticipants.map((p) => p.identity), ["bob"]);
      assert.deepEqual(carol.join?.otherParticipants.map((p) => p.identity).sort(), [`${BOM}bob`, "bob"].sort());
      const update = await plainBob.waitFor("participantUpdate", (u) => u.participants[0]?.identity !== "carol");
      assert.equal(update.participants[0]?.identity, `${BOM}bob`);

      // Addressed by name, over the relay's fast path (offer) and the decoded one (data): each reaches the
      // participant it names, never the one whose name lacks the U+FEFF.
      carol.send({ case: "offer", value: { sdp: SDP, target: `${BOM}bob`, callId: "c-bom" } });
      carol.send({ case: "offer", value: { sdp: SDP, target: "bob", callId: "c-plain" } });
      assert.equal((await bomBob.waitFor("offer")).callId, "c-bom");
      assert.equal((await plainBob.waitFor("offer")).callId, "c-plain");
      carol.send({ case: "data", value: { target: `${BOM}bob`, payload: new TextEncoder().encode("to bom"), id: "d1" } });
      const toBom = await bomBob.waitFor("data");
      assert.equal(new TextDecoder().decode(toBom.payload), "to bom");
      assert.equal(toBom.from, "carol");

      bomBob.send({ case: "data", value: { target: "carol", payload: new Uint8Array([1]), id: "d2" } });
      assert.equal((await carol.waitFor("data")).from, `${BOM}bob`);

      const h = await operatorHeaders(room);
      for (const [name, transport] of binaryTransports(srv.apiPort)) {
        const api: Client<typeof RoomService> = createClient(RoomService, transport);
        const listed = await api.listParticipants({ room }, h);
        assert.deepEqual(listed.participants.map((p) => p.identity).sort(), [`${BOM}bob`, "bob", "carol"].sort(), name);
        const one = await api.getParticipant({ room, identity: `${BOM}bob` }, h);
        assert.equal(one.participant?.sid, bomBob.join?.participant?.sid, name);
        const rooms = await api.listRooms({ names: [room] }, h);
        assert.deepEqual(rooms.rooms.map((r) => r.name), [room], name);
      }
    });

    test("a participant named with a leading U+FEFF who drops is removed: seen leaving, the room not blocked", async () => {
      // A plain room name, so that only the identity is at stake here.
      const room = `bom-full-${store}`;
      const h = await operatorHeaders(room);
      const api = createClient(RoomService, createGrpcTransport({ baseUrl: srv.apiUrl }));
      const created = await api.createRoom({ name: room, maxParticipants: 2 }, h);
      assert.equal(created.room?.name, room);
      const ghost = await join("ws-protobuf", `${BOM}ghost`, room);
      const carol = await join("grpc-js", "carol", room);
      assert.deepEqual(carol.join?.otherParticipants.map((p) => p.identity), [`${BOM}ghost`]);
      ghost.kill();
      await seesLeave(carol, `${BOM}ghost`);
      const listed = await api.listParticipants({ room }, h);
      assert.deepEqual(listed.participants.map((p) => p.identity), ["carol"]);
      // Its place is free again: the room holds two.
      const dave = await join("ws-protobuf", "dave", room);
      assert.deepEqual(dave.join?.otherParticipants.map((p) => p.identity), ["carol"]);
    });

    test("binary RoomService requests address the name as sent: DeleteRoom of U+FEFF+X leaves X alone", async () => {
      const plain = `plain-${store}`;
      const h = await operatorHeaders(plain);
      for (const [name, transport] of binaryTransports(srv.apiPort)) {
        const api: Client<typeof RoomService> = createClient(RoomService, transport);
        await api.createRoom({ name: plain }, h);
        let refused: ConnectError | undefined;
        try {
          await api.deleteRoom({ room: `${BOM}${plain}` }, h);
        } catch (e) {
          refused = ConnectError.from(e);
        }
        assert.equal(refused?.code, Code.NotFound, `${name}: ${String(refused)}`);
        const rooms = await api.listRooms({ names: [plain] }, h);
        assert.deepEqual(rooms.rooms.map((r) => r.name), [plain], name);
        const created = await api.createRoom({ name: `${BOM}${name}-made` }, h);
        assert.equal(created.room?.name, `${BOM}${name}-made`, name);
        assert.equal(created.created, true, name);
      }
    });
  });
}

describe("names beginning with U+FEFF across two Redis nodes", { skip: await redisSkip() }, () => {
  const cluster = new Cluster(REDIS_URL);
  let a: NodeProcess;
  let b: NodeProcess;
  const clients: TestClient[] = [];
  before(async () => {
    [a, b] = await Promise.all([
      cluster.add("a", { VOLLY_RESUME_WINDOW: RESUME_WINDOW_SECONDS }),
      cluster.add("b", { VOLLY_RESUME_WINDOW: RESUME_WINDOW_SECONDS }),
    ]);
  });
  after(async () => {
    for (const c of clients) c.kill();
    await cluster.destroy();
  });

  test("identity round-trips between nodes, and a drop on one node is seen as a departure on the other", async () => {
    const room = `${BOM}bom-cluster`;
    const bob = await participant(a.port, "ws-protobuf", `${BOM}bob`, room);
    const carol = await participant(b.port, "grpc-js", "carol", room);
    clients.push(bob, carol);
    assert.equal(bob.join?.participant?.identity, `${BOM}bob`);
    assert.equal(carol.join?.room?.name, room);
    assert.deepEqual(carol.join?.otherParticipants.map((p) => p.identity), [`${BOM}bob`]);
    assert.equal((await bob.waitFor("participantUpdate")).participants[0]?.identity, "carol");

    bob.send({ case: "data", value: { target: "carol", payload: new Uint8Array([1]), id: "x1" } });
    assert.equal((await carol.waitFor("data")).from, `${BOM}bob`);
    carol.send({ case: "offer", value: { sdp: SDP, target: `${BOM}bob`, callId: "c-x" } });
    assert.equal((await bob.waitFor("offer")).from, "carol");

    bob.kill();
    await seesLeave(carol, `${BOM}bob`);
    const h = await operatorHeaders(room);
    const api = createClient(RoomService, createGrpcTransport({ baseUrl: b.apiUrl }));
    assert.deepEqual((await api.listParticipants({ room }, h)).participants.map((p) => p.identity), ["carol"]);
  });
});
