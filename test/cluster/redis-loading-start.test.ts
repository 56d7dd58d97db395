// A node started while Redis is still loading its dataset (after a restart) waits for it and starts: the
// wait ioredis's ready check did with INFO (off: INFO is `@dangerous`, see redis-acl-user.test.ts) is the
// node's own, with PING.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { NodeProcess } from "../helpers/node-process.js";
import { redisServerSkip } from "../helpers/redis.js";
import { OwnRedis } from "../helpers/redis-deployment.js";

test("a node started against a LOADING Redis waits and becomes healthy", { skip: redisServerSkip() }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "volly-loading-"));
  let redis: OwnRedis | undefined;
  let node: NodeProcess | undefined;
  try {
    const args = ["--dir", dir, "--dbfilename", "dump.rdb", "--enable-debug-command", "yes"];
    redis = await OwnRedis.start("server", args);
    await redis.command(["DEBUG", "POPULATE", "40000"]);
    await redis.command(["SAVE"]);
    await redis.stop();
    // 40000 keys at 250 µs each: about 10 s of LOADING, answered as such (events processed every 1 KiB), so
    // that the node still finds it loading when a busy machine takes seconds to start it.
    redis = await OwnRedis.startLoading(["--key-load-delay", "250", "--loading-process-events-interval-bytes", "1024", ...args]);
    assert.match(String(await redis.command(["PING"]).catch((e: unknown) => e)), /LOADING/, "Redis is loading when the node starts");
    node = await NodeProcess.start({ REDIS_URL: redis.url, REDIS_PREFIX: "loading:", LOG_LEVEL: "info" }, "loading");
    assert.match(node.log, /redis is loading its dataset; waiting/);
    assert.equal(await node.health(), 200);
  } finally {
    await node?.kill();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
