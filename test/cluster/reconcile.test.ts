import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { eventually } from "../helpers/node-process.js";
import { deletePrefix, RedisServer, redisServerSkip, sleep, uniquePrefix, withRedis } from "../helpers/redis.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { participant } from "../store/contract-fixtures.js";

const skip = redisServerSkip();

describe("a stalled Redis (SIGSTOP: nothing answers, data kept)", { skip }, () => {
  let redis: RedisServer;
  let node: TestServer;
  const prefix = uniquePrefix("reconcile");

  before(async () => {
    redis = await RedisServer.start();
    node = await startTestServer({ REDIS_URL: redis.url, REDIS_PREFIX: prefix, VOLLY_RESUME_WINDOW: "1" });
  });
  after(async () => {
    redis.unpause();
    await node.close();
    await deletePrefix(redis.url, prefix);
    await redis.stop();
  });

  test("once Redis answers again, records of connections the node no longer has are dropped and swept", async () => {
    const alice = await TestClient.connect({ kind: "ws-protobuf", port: node.port, identity: "alice", room: "blip", pq: "ML-KEM-768" });
    const erin = await TestClient.connect({ kind: "grpc-js", port: node.port, identity: "erin", room: "blip", pq: "ML-KEM-768" });
    await alice.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "erin", 10_000);
    // A record on this node with no connection behind it, as a drop that never reached Redis leaves.
    const { store, nodeId } = node.server.services;
    assert.ok((await store.joinParticipant(participant("blip", "ghost", "PA_ghost", nodeId), 100)).ok);

    redis.pause();
    await eventually("the node to report unhealthy", async () => (await fetch(`${node.httpUrl}/healthz`)).status === 503, 10_000);
    erin.kill();
    await sleep(5000);
    redis.unpause();

    for (const identity of ["ghost", "erin"]) {
      const gone = await alice.waitFor(
        "participantUpdate",
        (u) => u.participants[0]?.identity === identity && u.participants[0].state === ParticipantState.DISCONNECTED,
        20_000,
      );
      assert.ok(gone, identity);
    }
    await withRedis(redis.url, async (r) => {
      assert.deepEqual(await r.hkeys(`${prefix}room:blip:sids`), ["alice"]);
      assert.equal((await r.keys(`${prefix}session:*`)).length, 1, "erin's session record is gone too");
    });
    const pid = alice.send({ case: "ping", value: { timestamp: 1n } });
    await alice.waitFor("pong", (_v, r) => r.requestId === pid, 10_000);
    await alice.leave();
  });
});
