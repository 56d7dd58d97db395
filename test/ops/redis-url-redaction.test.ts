// A Redis password never reaches the logs, even one with a raw `@` in it (ioredis accepts
// `redis://:p@ss@host`): the whole user information, up to the last `@`, is redacted (operations.md §1).
import assert from "node:assert/strict";
import { test } from "node:test";
import { redactUrl } from "../../src/redis/redis-connection.js";
import { freePort } from "../helpers/redis.js";
import { runServer } from "../helpers/server-run.js";

test("redactUrl hides everything between // and the last @", () => {
  assert.equal(redactUrl("redis://:p@ssw0rd-SECRET@127.0.0.1:6419"), "redis://***@127.0.0.1:6419");
  assert.equal(redactUrl("rediss://user:a@b@c@redis.example:6380/2"), "rediss://***@redis.example:6380/2");
  assert.equal(redactUrl("redis://:plain@h:1"), "redis://***@h:1");
  assert.equal(redactUrl("redis://h:1/0"), "redis://h:1/0");
  assert.equal(redactUrl("redis-sentinel://a:1,b:2/m"), "redis-sentinel://a:1,b:2/m");
});

test("the fatal start-up line for an unreachable Redis shows no part of a password with a raw @", async () => {
  const port = await freePort();
  const run = await runServer({ REDIS_URL: `redis://:p@ssw0rd-SECRET@127.0.0.1:${port}` });
  assert.equal(run.code, 1, run.output);
  assert.match(run.output, new RegExp(`start-up failed: Redis at redis://\\*\\*\\*@127\\.0\\.0\\.1:${port} did not answer`));
  assert.doesNotMatch(run.output, /SECRET|ssw0rd/);
});
