import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create, fromBinary } from "@bufbuild/protobuf";
import { BusEnvelopeSchema } from "../../gen/volly/signaling/v1/internal_pb.js";
import { DisconnectReason, ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { SignalRequestSchema, SignalResponseSchema, type JoinResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { SESSION_FIELDS } from "../../src/redis/redis-codec.js";
import { decodePlaintext } from "../../src/protocol/signal-codec.js";
import { openChannel } from "../helpers/channels.js";
import { createIndependentClient } from "../helpers/independent-pq-client.js";
import { eventually, type NodeProcess } from "../helpers/node-process.js";
import { keysUnder, quietClient, redisSkip, requireRedis, withRedis } from "../helpers/redis.js";
import type { TestClient } from "../helpers/signal-client.js";
import { makeToken } from "../helpers/tokens.js";
import { Cluster, join, text } from "./cluster-fixture.js";

const skip = await redisSkip();
const te = new TextEncoder();

describe("three server processes on one Redis", { skip }, () => {
  const cluster = new Cluster();
  let a: NodeProcess;
  let b: NodeProcess;
  let c: NodeProcess;

  before(async () => {
    await requireRedis(cluster.redisUrl);
    [a, b, c] = await Promise.all([cluster.add("a"), cluster.add("b"), cluster.add("c")]);
  });
  after(() => cluster.destroy());

  const joined = (client: TestClient, identity: string) =>
    client.waitFor("participantUpdate", (u) => u.participants[0]?.identity === identity && u.participants[0].state === ParticipantState.JOINED, 10_000);

  test("a participant the room has been told of is online for discover, asked on another node, and offline once told it left", async () => {
    const watcher = await join(a, "ws-protobuf", "watcher", "presence-order");
    const ask = async (identity: string) => {
      const rid = watcher.send({ case: "discover", value: { identities: [identity] } });
      return (await watcher.waitFor("discover", (_v, r) => r.requestId === rid, 10_000)).users.map((u) => [u.identity, u.online]);
    };
    for (let i = 0; i < 10; i++) {
      // Joins on b; the watcher on a asks the moment it hears of each one, and again the moment it hears it left.
      const identity = `newcomer-${i}`;
      const heard = joined(watcher, identity);
      const newcomer = await join(b, i % 2 === 0 ? "ws-flat" : "grpc-js", identity, "presence-order");
      await heard;
      assert.deepEqual(await ask(identity), [[identity, true]]);
      const gone = watcher.waitFor("participantUpdate", (u) => u.participants[0]?.identity === identity && u.participants[0].state === ParticipantState.DISCONNECTED, 10_000);
      void newcomer.leave();
      await gone;
      assert.deepEqual(await ask(identity), [[identity, false]]);
    }
    await watcher.leave();
  });

  test("participants spread over the nodes see each other and relay offer/answer/trickle/data in order", async () => {
    const alice = await join(a, "ws-protobuf", "alice", "mesh");
    const bob = await join(b, "ws-flat", "bob", "mesh");
    const carol = await join(c, "grpc-js", "carol", "mesh");
    assert.deepEqual(carol.join?.otherParticipants.map((p) => p.identity).sort(), ["alice", "bob"]);
    await joined(alice, "bob");
    await joined(alice, "carol");
    await joined(bob, "carol");
    const sid = (client: TestClient) => client.join?.participant?.sid ?? "";

    alice.send({ case: "offer", value: { sdp: "v=0 offer from alice", target: "bob", callId: "call-1" } });
    const offer = await bob.waitFor("offer", () => true, 10_000);
    assert.deepEqual([offer.sdp, offer.from, offer.fromSid, offer.callId], ["v=0 offer from alice", "alice", sid(alice), "call-1"]);
    bob.send({ case: "answer", value: { sdp: "v=0 answer from bob", target: "alice", callId: "call-1" } });
    const answer = await alice.waitFor("answer", () => true, 10_000);
    assert.deepEqual([answer.sdp, answer.from, answer.fromSid], ["v=0 answer from bob", "bob", sid(bob)]);
    carol.send({ case: "trickle", value: { candidate: '{"candidate":"candidate:1 1 udp 1 10.0.0.3 9 typ host"}', target: "alice", callId: "call-2" } });
    const trickle = await alice.waitFor("trickle", () => true, 10_000);
    assert.deepEqual([trickle.from, trickle.fromSid, trickle.callId], ["carol", sid(carol), "call-2"]);
    bob.send({ case: "trickle", value: { candidate: "", target: "carol", callId: "call-3" } });
    assert.equal((await carol.waitFor("trickle", () => true, 10_000)).from, "bob");

    const id = bob.send({ case: "data", value: { topic: "room", payload: te.encode("hello all"), id: "d1" } });
    const ack = await bob.waitFor("dataAck", (_v, r) => r.requestId === id, 10_000);
    assert.equal(ack.recipients, 2);
    for (const peer of [alice, carol]) {
      const d = await peer.waitFor("data", (v) => v.id === "d1", 10_000);
      assert.deepEqual([text(d.payload), d.from], ["hello all", "bob"]);
    }

    // Per-sender order across nodes: 60 messages from alice (node a) to carol (node c).
    for (let i = 0; i < 60; i++) alice.send({ case: "data", value: { target: "carol", topic: "seq", payload: te.encode(String(i)), id: `s${i}` } });
    const seen: number[] = [];
    while (seen.length < 60) seen.push(Number(text((await carol.waitFor("data", (v) => v.topic === "seq", 10_000)).payload)));
    assert.deepEqual(seen, Array.from({ length: 60 }, (_, i) => i));
    const ids = carol.messageIds;
    assert.deepEqual(ids, [...ids].sort((x, y) => (x < y ? -1 : 1)), "message ids increase");
    assert.equal(new Set(ids).size, ids.length, "no message id twice");

    // Every node answers the same cluster-wide stats and presence.
    await eventually("stats to agree on every node", async () => {
      const all = await Promise.all([a, b, c].map((n) => n.stats()));
      return all.every((s) => s.active_sessions === 3 && s.total_sessions === all[0]?.total_sessions && s.expired_sessions === all[0]?.expired_sessions);
    });
    assert.deepEqual(new Set((await Promise.all([a, b, c].map((n) => n.stats()))).map((s) => s.node_id)).size, 3);
    const views: string[] = [];
    for (const client of [alice, bob, carol]) {
      const rid = client.send({ case: "discover", value: { identities: ["alice", "bob", "carol", "nobody"] } });
      const users = (await client.waitFor("discover", (_v, r) => r.requestId === rid, 10_000)).users;
      views.push(JSON.stringify(users.map((u) => [u.identity, u.online, u.online ? 0n : u.lastSeen].map(String))));
    }
    assert.deepEqual(views, Array(3).fill(JSON.stringify([["alice", "true", "0"], ["bob", "true", "0"], ["carol", "true", "0"], ["nobody", "false", "0"]])));

    await carol.leave();
    const left = await alice.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "carol" && u.participants[0].state === ParticipantState.DISCONNECTED, 10_000);
    assert.ok(left);
    await alice.leave();
    await bob.leave();
    await eventually("sessions to end everywhere", async () => (await Promise.all([a, b, c].map((n) => n.stats()))).every((s) => s.active_sessions === 0));
  });

  test("a burst of offers to another node crosses as one routed batch (BatchRouting, then the batch) and arrives whole, in order", async () => {
    // Listens on node b's bus channel as Redis publishes it, to see which form the burst took.
    const seen: string[] = [];
    const listener = quietClient(cluster.redisUrl);
    listener.on("messageBuffer", (_channel: Buffer, message: Buffer) => {
      try {
        seen.push(fromBinary(BusEnvelopeSchema, message).message.case ?? "empty");
      } catch {
        seen.push("not an envelope");
      }
    });
    await listener.subscribe(`${cluster.prefix}bus:node:${b.nodeId}`);
    try {
      const erin = await join(a, "ws-protobuf", "erin", "burst");
      const fred = await join(b, "ws-protobuf", "fred", "burst");
      const gina = await join(c, "ws-protobuf", "gina", "burst");
      await joined(erin, "gina");
      const sdp = (i: number) => `v=0 offer ${i} ` + "a=candidate:1 1 udp 2122260223 10.0.0.1 9 typ host\r\n".repeat(40);
      for (let i = 0; i < 40; i++) {
        erin.send({ case: "offer", value: { sdp: sdp(i), target: "fred", callId: `burst-${i}` } });
        if (i % 8 === 0) erin.send({ case: "data", value: { target: "gina", topic: "side", payload: te.encode(String(i)), id: `g${i}` } });
      }
      const offers: string[] = [];
      while (offers.length < 40) offers.push((await fred.waitFor("offer", (o) => o.callId.startsWith("burst-"), 10_000)).callId);
      assert.deepEqual(offers, Array.from({ length: 40 }, (_, i) => `burst-${i}`), "every offer once, in order");
      const side: string[] = [];
      while (side.length < 5) side.push(text((await gina.waitFor("data", (d) => d.topic === "side", 10_000)).payload));
      assert.deepEqual(side, ["0", "8", "16", "24", "32"]);
      const ids = fred.messageIds;
      assert.deepEqual(ids, [...ids].sort((x, y) => (x < y ? -1 : 1)), "message ids increase");
      assert.equal(new Set(ids).size, ids.length, "no message id twice");
      assert.ok(seen.includes("routing"), `the burst crossed as a routed batch (node b's channel carried: ${[...new Set(seen)].join(", ")})`);
      assert.ok(seen.includes("not an envelope"), "the routed batch itself followed its routing");
      await Promise.all([erin.leave(), fred.leave(), gina.leave()]);
    } finally {
      listener.disconnect();
    }
  });

  test("session:<id> holds the documented metadata and Redis holds no key material", async () => {
    const token = await makeToken({ identity: "dora", room: "keys" });
    const channel = await openChannel("ws-protobuf", b.port, { token });
    const pq = createIndependentClient({ accessToken: token, algorithm: "ML-KEM-768" });
    const hello = await pq.handshakeMessage("capture");
    channel.send(create(SignalRequestSchema, { message: { case: "pqHandshake", value: hello } }));
    const response = await channel.responses.take(10_000, "pq_handshake_response");
    assert.equal(response.message.case, "pqHandshakeResponse");
    if (response.message.case !== "pqHandshakeResponse") return;
    const { kemCiphertext, sessionId } = response.message.value;
    const { clientFinished } = await pq.onHandshakeResponse(response.message.value);
    channel.send(create(SignalRequestSchema, { message: { case: "pqFinished", value: { clientFinished } } }));
    const record = await channel.responses.take(10_000, "join");
    assert.equal(record.message.case, "secure");
    if (record.message.case !== "secure") return;
    const inner = decodePlaintext(SignalResponseSchema, await pq.open(record.message.value), "protobuf");
    assert.equal(inner.message.case, "join");
    const joinResponse = inner.message.value as JoinResponse;

    await withRedis(cluster.redisUrl, async (redis) => {
      const sessionKeys = await redis.keys(`${cluster.prefix}session:*`);
      assert.deepEqual(sessionKeys, [`${cluster.prefix}session:${sessionId}`]);
      const fields = await redis.hgetall(sessionKeys[0] ?? "");
      assert.deepEqual(Object.keys(fields).sort(), [...SESSION_FIELDS].sort(), "no field besides the documented ones");
      assert.deepEqual(
        [fields.identity, fields.room, fields.participant_sid, fields.algorithm, fields.node_id, fields.state, fields.rekeys],
        ["dora", "keys", joinResponse.participant?.sid, "ML-KEM-768", b.nodeId, "active", "0"],
      );
      assert.ok(Number(fields.expires_at) > Date.now() && Number(fields.created_at) <= Date.now());
      for (const [k, v] of Object.entries(fields)) assert.ok(v.length <= 64, `${k} is short metadata (${v.length} chars)`);

      // Nothing under the prefix (any key, field, member or value) carries the public key or the ciphertext.
      const needles = [hello.clientPublicKey, kemCiphertext, hello.clientPublicKey.subarray(0, 32), kemCiphertext.subarray(0, 32)].flatMap((x) => {
        const buf = Buffer.from(x);
        return [buf, Buffer.from(buf.toString("base64")), Buffer.from(buf.toString("hex"))];
      });
      const keys = await keysUnder(cluster.redisUrl, cluster.prefix);
      assert.ok(keys.length > 5);
      for (const key of keys) {
        const blobs: Buffer[] = [Buffer.from(key)];
        const type = await redis.type(key);
        if (type === "string") blobs.push((await redis.getBuffer(key)) ?? Buffer.alloc(0));
        else if (type === "hash") blobs.push(...Object.entries(await redis.hgetallBuffer(key)).flatMap(([f, v]) => [Buffer.from(f), v]));
        else if (type === "list") blobs.push(...(await redis.lrangeBuffer(key, 0, -1)));
        else if (type === "set") blobs.push(...(await redis.smembersBuffer(key)));
        else if (type === "zset") blobs.push(...(await redis.zrangeBuffer(key, "0", "-1")));
        for (const blob of blobs) for (const needle of needles) assert.ok(!blob.includes(needle), `key material found under ${key}`);
      }
    });

    channel.kill();
    await withRedis(cluster.redisUrl, (redis) =>
      eventually("the session record to go with the connection", async () => (await redis.keys(`${cluster.prefix}session:*`)).length === 0),
    );
  });

  test("the same identity joining on another node replaces the first connection, which is told DUPLICATE_IDENTITY", async () => {
    const bob = await join(c, "ws-protobuf", "dup-bob", "dup-x");
    const first = await join(a, "ws-protobuf", "dup-alice", "dup-x");
    await joined(bob, "dup-alice");
    const second = await join(b, "grpc-js", "dup-alice", "dup-x");
    const leave = await first.waitFor("leave", () => true, 10_000);
    assert.equal(leave.reason, DisconnectReason.DUPLICATE_IDENTITY);
    assert.notEqual((await first.channel.closed).code, 0);
    assert.deepEqual(second.join?.otherParticipants.map((p) => p.identity), ["dup-bob"]);
    assert.notEqual(second.join?.participant?.sid, first.join?.participant?.sid);
    // Relays to alice now reach the connection on node b, from node c.
    bob.send({ case: "offer", value: { sdp: "v=0 dup-x", target: "dup-alice" } });
    const offer = await second.waitFor("offer", () => true, 10_000);
    assert.deepEqual([offer.sdp, offer.from], ["v=0 dup-x", "dup-bob"]);
    await second.leave();
    await bob.leave();
  });
});
