// REDIS_SENTINELS / REDIS_SENTINEL_NAME / REDIS_SENTINEL_PASSWORD: validated with the other Redis variables,
// every problem listed at start-up.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../../src/config.js";
import { problemsOf } from "../helpers/config-problems.js";

test("Sentinel settings: parsed, with the servers' and the Sentinels' passwords kept apart", () => {
  const c = loadConfig({ REDIS_SENTINELS: "10.0.0.1:26379, [::1]:26380", REDIS_SENTINEL_NAME: "mymaster", REDIS_PASSWORD: "pw", REDIS_SENTINEL_PASSWORD: "spw", REDIS_PREFIX: "v:" });
  assert.deepEqual(c.redis?.sentinel, { sentinels: [{ host: "10.0.0.1", port: 26379 }, { host: "::1", port: 26380 }], name: "mymaster", password: "pw", sentinelPassword: "spw" });
  assert.equal(c.redis?.url, "redis-sentinel://10.0.0.1:26379,[::1]:26380/mymaster");
  assert.equal(c.redis?.prefix, "v:");
});

test("Sentinel settings: every mistake listed", () => {
  assert.deepEqual(problemsOf({ REDIS_SENTINELS: "a:1,b,c:99999", REDIS_URL: "redis://r:6379" }), [
    "REDIS_SENTINELS is set and so is REDIS_URL: with Sentinel the primary's address comes from the Sentinels; use REDIS_PASSWORD for its password",
    'REDIS_SENTINELS: "b" is not host:port',
    'REDIS_SENTINELS: "c:99999" is not host:port',
    "REDIS_SENTINELS is set but REDIS_SENTINEL_NAME (the master group name Sentinel monitors) is not",
  ]);
  assert.deepEqual(problemsOf({ REDIS_SENTINEL_NAME: "m" }), ["REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not: set REDIS_SENTINELS=host:port,host:port to use Sentinel"]);
});

test("Sentinel addresses: an IPv6 address must be one, in brackets; a host must be a host name or IPv4 address", () => {
  for (const entry of ["[zz::1]:26379", "[:::::]:26379", "::1:26379", "user@s1:26379", "s1/x:26379", "[s1]:26379"]) {
    assert.deepEqual(problemsOf({ REDIS_SENTINELS: entry, REDIS_SENTINEL_NAME: "m" }), [`REDIS_SENTINELS: ${JSON.stringify(entry)} is not host:port`], entry);
  }
  const c = loadConfig({ REDIS_SENTINELS: "[2001:db8::1]:26379,s_1.example:26380", REDIS_SENTINEL_NAME: "m" });
  assert.deepEqual(c.redis?.sentinel?.sentinels, [{ host: "2001:db8::1", port: 26379 }, { host: "s_1.example", port: 26380 }]);
});
