import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DisconnectReason, LeaveAction, ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { TestClient } from "../helpers/signal-client.js";
import { deletePrefix, keysUnder, RedisServer, redisServerSkip, uniquePrefix } from "../helpers/redis.js";
import { eventually } from "../helpers/polling.js";
import { limitCount, startTestServer, type TestServer } from "../helpers/test-server.js";

const KIB = 1024;
/** The cap under test, and a mailbox of 16 messages (VOLLY_RESUME_QUEUE_LIMIT's minimum). */
const ENV = {
  VOLLY_PQ_ENABLED: "false",
  VOLLY_MAX_UNACKED_BYTES: String(256 * KIB),
  // The unacknowledged limit must hold the largest single message, a request of the frame limit (config-limits.ts).
  VOLLY_MAX_FRAME_BYTES: String(128 * KIB),
  VOLLY_RESUME_QUEUE_LIMIT: "16",
  VOLLY_MAX_MESSAGES_PER_SECOND: "100000",
  VOLLY_MESSAGE_BURST: "100000",
  VOLLY_EMPTY_TIMEOUT: "0",
};

/** An offer's SDP of about `bytes` bytes. */
const sdpOf = (bytes: number) => "v=0 ".repeat(bytes / 4);

/** The suite, against a node with `store` (memory or Redis). `mailboxGone` says the store dropped `sid`'s mailbox. */
function unackedSuite(store: string, env: () => Record<string, string>, mailboxGone: (srv: TestServer, sid: string) => Promise<boolean>) {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ ...ENV, ...env() });
  });
  after(() => srv.close());

  test(`${store}: a participant that never acknowledges is disconnected past VOLLY_MAX_UNACKED_BYTES, and its mailbox is dropped`, async () => {
    const sender = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "talker", room: `noack-${store}`, pq: false });
    const silent = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "silent", room: `noack-${store}`, pq: false });
    const sid = silent.join?.participant?.sid ?? "";
    const gone = sender.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "silent" && u.participants[0].state === ParticipantState.DISCONNECTED, 10_000);
    // 40 offers of 32 KiB: 1.25 MiB, where the 16 messages the mailbox keeps are already 512 KiB.
    for (let i = 0; i < 40; i++) sender.send({ case: "offer", value: { sdp: sdpOf(32 * KIB), target: "silent" } });
    const error = await silent.waitFor("error");
    assert.deepEqual([error.code, error.message], ["resource_exhausted", "more than 256 KiB of messages not acknowledged (send ack or ping with last_message_id)"]);
    const leave = await silent.waitFor("leave");
    assert.deepEqual([leave.reason, leave.action], [DisconnectReason.SLOW_CONSUMER, LeaveAction.DISCONNECT]);
    assert.equal((await silent.channel.closed).code, 4008);
    assert.ok(silent.lastMessageId < 40n, `cut off after ${silent.lastMessageId} messages, before the 40 were sent`);
    const update = await gone;
    assert.equal(update.participants[0]?.disconnectReason, DisconnectReason.SLOW_CONSUMER);
    assert.equal(await limitCount(srv, "unacked_bytes"), 1);
    assert.equal(await srv.server.services.store.getParticipant(`noack-${store}`, "silent"), undefined);
    assert.ok(await mailboxGone(srv, sid), "the mailbox went with the participant");
    await sender.leave();
  });

  test(`${store}: an away participant is ended once more than VOLLY_MAX_UNACKED_BYTES is queued for it, though its mailbox holds fewer than VOLLY_RESUME_QUEUE_LIMIT messages`, async () => {
    const sender = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "talker", room: `away-${store}`, pq: false });
    const dropped = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "dropped", room: `away-${store}`, pq: false });
    const sid = dropped.join?.participant?.sid ?? "";
    await sender.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "dropped");
    dropped.kill();
    await eventually(async () => ((await srv.server.services.store.getParticipant(`away-${store}`, "dropped"))?.awayUntil ?? 0n) > 0n, "dropped is away");
    const gone = sender.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "dropped" && u.participants[0].state === ParticipantState.DISCONNECTED, 10_000);
    // 10 offers of 32 KiB: 320 KiB for a participant that could resume with at most 256 KiB unacknowledged.
    for (let i = 0; i < 10; i++) sender.send({ case: "offer", value: { sdp: sdpOf(32 * KIB), target: "dropped" } });
    const update = await gone;
    assert.equal(update.participants[0]?.disconnectReason, DisconnectReason.RESUME_FAILED);
    assert.equal(await srv.server.services.store.getParticipant(`away-${store}`, "dropped"), undefined);
    assert.ok(await mailboxGone(srv, sid), "the mailbox went with the participant");
    await sender.leave();
  });

  test(`${store}: acknowledged bytes no longer count: a participant that acks receives many times the cap`, async () => {
    const sender = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "talker", room: `acks-${store}`, pq: false });
    const acking = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "acking", room: `acks-${store}`, pq: false });
    const before = await limitCount(srv, "unacked_bytes");
    // 25 rounds of 4 offers of 32 KiB (3.1 MiB in all, 12 times the cap), acknowledged after each round
    // (the pong settles that the ack was processed, requests being handled in order).
    for (let round = 0; round < 25; round++) {
      for (let i = 0; i < 4; i++) sender.send({ case: "offer", value: { sdp: sdpOf(32 * KIB), target: "acking" } });
      for (let i = 0; i < 4; i++) await acking.waitFor("offer");
      acking.ack();
      const ping = acking.send({ case: "ping", value: { timestamp: BigInt(round) } });
      await acking.waitFor("pong", (_p, r) => r.requestId === ping);
    }
    assert.equal(await limitCount(srv, "unacked_bytes"), before);
    await acking.leave();
    await sender.leave();
  });

  test(`${store}: only what the mailbox keeps counts: many small unacknowledged messages are no reason to disconnect`, async () => {
    const sender = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "talker", room: `small-${store}`, pq: false });
    const quiet = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "quiet", room: `small-${store}`, pq: false });
    const before = await limitCount(srv, "unacked_bytes");
    // 100 offers of 8 KiB, never acknowledged: 800 KiB sent, but the mailbox keeps 16 of them (128 KiB).
    for (let i = 0; i < 100; i++) sender.send({ case: "offer", value: { sdp: sdpOf(8 * KIB), target: "quiet" } });
    for (let i = 0; i < 100; i++) await quiet.waitFor("offer");
    const ping = quiet.send({ case: "ping", value: { timestamp: 1n } });
    await quiet.waitFor("pong", (_p, r) => r.requestId === ping);
    assert.equal(await limitCount(srv, "unacked_bytes"), before);
    await quiet.leave();
    await sender.leave();
  });
}

describe("unacknowledged bytes are capped per participant (memory store)", () => {
  unackedSuite("memory", () => ({}), async (srv, sid) => (await srv.server.services.store.readMailbox(sid, 0n)).messages.length === 0);
});

describe("unacknowledged bytes are capped per participant (Redis store)", { skip: redisServerSkip() }, () => {
  let redis: RedisServer;
  const prefix = uniquePrefix("unacked");
  before(async () => {
    redis = await RedisServer.start();
  });
  after(async () => {
    await deletePrefix(redis.url, prefix);
    await redis.stop();
  });
  // A suite of its own, so that its node closes before the Redis it uses stops.
  describe("node", () => unackedSuite(
    "redis",
    () => ({ REDIS_URL: redis.url, REDIS_PREFIX: prefix }),
    async (_srv, sid) => (await keysUnder(redis.url, prefix)).every((k) => !k.includes(sid)),
  ));
});
