// A node whose process stalls (a VM pause, a long GC, SIGSTOP) while a Redis probe is in flight wakes with that
// probe's timers expired and Redis's reply unread in its socket. Its own silence is not Redis's: it must not
// drop its working connection ("redis connection gave no reply at all"), which would fail every command in
// flight with store_unavailable. Seen once by a chaos probe with a 13 s pause; made deterministic here by
// holding Redis still (SIGSTOP) so that a probe is surely waiting when the node is frozen.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { pino } from "pino";
import { PROBE_INTERVAL_MS, RECONNECT_SILENT_MS, watchConnection } from "../../src/redis/redis-liveness.js";
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
    assert.equal(await node.health(), 200, `healthy on waking: Redis answered all along; the node printed:\n${node.log.slice(logged)}`);
    await sleep(2500);
    const since = node.log.slice(logged);
    assert.doesNotMatch(since, /gave no reply at all/, "the node's own pause is not Redis's silence");
  });
});

// The race behind the test above, made deterministic. A probe is two round trips (PING, then ROLE). A node
// waking from a stall reads PING's reply with its probe timers expired and ROLE just sent: Redis has answered,
// and that, not the probe's end, is what tells a silent connection from a working one.
describe("a liveness probe Redis has replied to, whose second step is still out", { skip: redisServerSkip() }, () => {
  let redis: RedisServer;
  before(async () => {
    redis = await RedisServer.start();
  });
  after(async () => {
    await redis.stop();
  });

  test("neither drops the connection nor calls Redis down", async () => {
    const lines: string[] = [];
    const log = pino({ level: "warn" }, { write: (line: string) => void lines.push(line) });
    const conn = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    await conn.connect();
    const ups: boolean[] = [];
    let probes = 0;
    let closed = false;
    conn.on("close", () => (closed = true));
    const stop = watchConnection(conn, log, { up: (up) => ups.push(up), command: () => {} }, async (r, replied) => {
      probes++;
      await r.ping();
      replied();
      // A second step outlasting the limit for "no reply at all".
      await sleep(RECONNECT_SILENT_MS + 3000);
    });
    try {
      await sleep(PROBE_INTERVAL_MS + RECONNECT_SILENT_MS + 1500);
      assert.equal(probes, 1, "one probe, still in its second step, until past the silence limit");
      assert.equal(closed, false, `the connection stays open; logged:\n${lines.join("")}`);
      assert.deepEqual(ups, [true], "Redis is never reported down");
      assert.equal(await conn.ping(), "PONG");
    } finally {
      stop();
      conn.disconnect();
    }
  });
});
