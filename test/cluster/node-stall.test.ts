// A node whose process stalls (a VM pause, a long GC, SIGSTOP) while a Redis probe is in flight wakes with that
// probe's timers expired and Redis's reply unread in its socket. Its own silence is not Redis's: it must not
// drop its working connection ("redis connection gave no reply at all"), which would fail every command in
// flight with store_unavailable. Seen once by a chaos probe with a 13 s pause; made deterministic here by
// holding Redis still (SIGSTOP) so that a probe is surely waiting when the node is frozen.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { NodeProcess } from "../helpers/node-process.js";
import { RedisServer, redisServerSkip, sleep } from "../helpers/redis.js";

describe("a node frozen while its Redis probe waits", { skip: redisServerSkip() }, () => {
  let redis: RedisServer;
  let node: NodeProcess;
  before(async () => {
    redis = await RedisServer.start();
    node = await NodeProcess.start({ REDIS_URL: redis.url, VOLLY_PQ_ENABLED: "false" }, "stall");
  });
  after(async () => {
    node.freeze(false);
    await node.kill();
    await redis.stop();
  });

  test("keeps its Redis connection when it wakes, and answers at once", async () => {
    // Redis still for 1.5 s: the probe sent meanwhile (probes go every second) waits for it.
    redis.pause();
    await sleep(1500);
    node.freeze(true);
    // Redis answers now, into the frozen node's socket.
    redis.unpause();
    // Longer than the probe's 5 s limit for "no reply at all", counted from before the freeze.
    await sleep(6500);
    const logged = node.log.length;
    node.freeze(false);
    assert.equal(await node.health(), 200, "healthy on waking: Redis answered all along");
    await sleep(2500);
    const since = node.log.slice(logged);
    assert.doesNotMatch(since, /gave no reply at all/, "the node's own pause is not Redis's silence");
  });
});
