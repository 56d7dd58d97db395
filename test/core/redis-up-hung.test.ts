// `volly_redis_up` is 0 when Redis does not answer (operations.md, metrics table), not only when its socket
// closes: a hung Redis (SIGSTOP here; swapping, or a black-holed network, in real life) keeps the socket
// open while /healthz already answers 503, and an alert on `volly_redis_up == 0` must fire then too.
import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually } from "../helpers/polling.js";
import { RedisServer, redisServerSkip, uniquePrefix } from "../helpers/redis.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

/** The sample value of `volly_redis_up` (the scrape itself waits on the store while Redis hangs). */
async function redisUp(srv: TestServer): Promise<number | undefined> {
  const res = await fetch(`${srv.apiUrl}/metrics`, { signal: AbortSignal.timeout(20_000) });
  assert.equal(res.status, 200);
  const line = /^volly_redis_up (\S+)$/m.exec(await res.text());
  return line ? Number(line[1]) : undefined;
}

async function health(srv: TestServer): Promise<number> {
  return (await fetch(`${srv.httpUrl}/healthz`, { signal: AbortSignal.timeout(20_000) })).status;
}

test("Redis mode: volly_redis_up goes 0 while Redis is hung (SIGSTOP) and 1 once it answers again (SIGCONT)", { skip: redisServerSkip() }, async () => {
  const redis = await RedisServer.start();
  let srv: TestServer | undefined;
  try {
    srv = await startTestServer({ REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix("redis-up-hung") });
    const node = srv;
    assert.equal(await redisUp(node), 1);
    assert.equal(await health(node), 200);

    redis.pause();
    await eventually(async () => (await health(node)) === 503, "/healthz 503 while Redis is hung", 30_000);
    await eventually(async () => (await redisUp(node)) === 0, "volly_redis_up 0 while Redis is hung", 30_000);
    assert.equal(await health(node), 503, "the gauge and /healthz agree");

    redis.unpause();
    await eventually(async () => (await redisUp(node)) === 1, "volly_redis_up 1 once Redis answers again", 30_000);
    assert.equal(await health(node), 200);
  } finally {
    redis.unpause();
    await srv?.close();
    await redis.stop();
  }
});
