// A Redis out of memory under `noeviction` refuses writes (OOM) until memory is freed. That is a state of
// the store, not a bug of the request: the client gets `store_unavailable` (unavailable, retryable), as for
// LOADING or READONLY, never `internal`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { errorIdOf } from "../../src/errors.js";
import { createLogger } from "../../src/logger.js";
import { createBackend } from "../../src/store/create-backend.js";
import { redisServerSkip, withRedis } from "../helpers/redis.js";
import { OwnRedis } from "../helpers/redis-deployment.js";
import { room } from "./contract-fixtures.js";

test("a write refused with OOM (noeviction, over maxmemory) is store_unavailable, and works again once Redis has room", { skip: redisServerSkip() }, async () => {
  const redis = await OwnRedis.start("server", ["--maxmemory-policy", "noeviction"]);
  const backend = await createBackend({ url: redis.url, prefix: "oom:" }, createLogger("silent"));
  try {
    await backend.store.createRoom(room("before"), 100, Date.now());
    // Well over the limit: data first, then a limit below what it takes (noeviction keeps all of it).
    await withRedis(redis.url, async (r) => {
      for (let i = 0; i < 64; i++) await r.set(`filler:${i}`, "x".repeat(64 * 1024));
      await r.config("SET", "maxmemory", "1mb");
      await assert.rejects(r.set("probe", "x"), /^ReplyError: OOM/, "Redis is out of memory");
    });

    const error = await backend.store.createRoom(room("during"), 100, Date.now()).then(() => undefined, (e: unknown) => e);
    assert.ok(error !== undefined, "the write is refused");
    assert.equal(errorIdOf(error), "store_unavailable", String(error));

    await redis.command(["CONFIG", "SET", "maxmemory", "0"]);
    const after = await backend.store.createRoom(room("after"), 100, Date.now());
    assert.equal(after.created, true);
  } finally {
    await backend.close();
    await redis.stop();
  }
});
