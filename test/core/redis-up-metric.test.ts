// `volly_redis_up` says whether this node's Redis answers: 1 or 0 with Redis, absent on a memory node (an
// alert on `volly_redis_up == 0` must not fire on every memory node).
import assert from "node:assert/strict";
import { test } from "node:test";
import { deletePrefix, REDIS_URL, RedisServer, redisServerSkip, redisSkip, uniquePrefix } from "../helpers/redis.js";
import { eventually } from "../helpers/polling.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

async function metricsText(srv: TestServer): Promise<string> {
  const res = await fetch(`${srv.apiUrl}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

/** The sample value of `volly_redis_up`, or undefined when the node does not expose it. */
async function redisUp(srv: TestServer): Promise<number | undefined> {
  const line = /^volly_redis_up (\S+)$/m.exec(await metricsText(srv));
  return line ? Number(line[1]) : undefined;
}

test("memory mode: volly_redis_up is absent (no sample, no HELP, no TYPE)", async () => {
  const srv = await startTestServer();
  try {
    const text = await metricsText(srv);
    assert.doesNotMatch(text, /volly_redis_up/);
    assert.match(text, /^volly_rooms_active /m, "the other metrics are there");
  } finally {
    await srv.close();
  }
});

test("Redis mode: volly_redis_up is 1 while Redis answers", { skip: await redisSkip() }, async () => {
  const prefix = uniquePrefix("redis-up");
  const srv = await startTestServer({ REDIS_URL, REDIS_PREFIX: prefix });
  try {
    assert.equal(await redisUp(srv), 1);
    assert.match(await metricsText(srv), /^# TYPE volly_redis_up gauge$/m);
  } finally {
    await srv.close();
    await deletePrefix(REDIS_URL, prefix);
  }
});

test("Redis mode: volly_redis_up goes 0 when Redis dies and 1 when it is back", { skip: redisServerSkip() }, async () => {
  const redis = await RedisServer.start();
  let srv: TestServer | undefined;
  try {
    srv = await startTestServer({ REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix("redis-up-restart") });
    const node = srv;
    assert.equal(await redisUp(node), 1);
    await redis.stop();
    await eventually(async () => (await redisUp(node)) === 0, "volly_redis_up 0 after Redis died");
    await redis.start();
    await eventually(async () => (await redisUp(node)) === 1, "volly_redis_up 1 after Redis is back");
  } finally {
    await srv?.close();
    await redis.stop();
  }
});
