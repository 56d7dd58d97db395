import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../src/config.js";
import { parseApiKeys } from "../src/auth/api-keys.js";

test("defaults: memory store, dev keys, ports 7880/7881, PQ on with ML-KEM-768", () => {
  const c = loadConfig({});
  assert.deepEqual([c.port, c.apiPort, c.redis, c.pq.enabled, c.pq.algorithm, c.devKeys], [7880, 7881, undefined, true, "ML-KEM-768", true]);
  assert.equal(c.pq.sessionTimeoutMs, 86_400_000);
  assert.equal(c.keys.get("volly-dev-key"), "volly-dev-secret-key-2024");
});

test("every bad variable is reported at once", () => {
  try {
    loadConfig({ VOLLY_PORT: "http", VOLLY_PQ_ENABLED: "maybe", VOLLY_PQ_ALGORITHM: "ML-KEM-512", LOG_LEVEL: "loud", REDIS_URL: "http://x", VOLLY_PING_TIMEOUT: "1" });
    assert.fail("expected a ConfigError");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    const names = ["VOLLY_PORT", "VOLLY_PQ_ENABLED", "VOLLY_PQ_ALGORITHM", "LOG_LEVEL", "REDIS_URL", "VOLLY_PING_TIMEOUT"];
    for (const name of names) assert.ok(e.problems.some((p) => p.includes(name)), `${name} not reported: ${e.message}`);
  }
});

test("production refuses the development keys and short secrets", () => {
  assert.throws(() => loadConfig({ NODE_ENV: "production" }), (e: unknown) => e instanceof ConfigError && /development key/.test(e.message));
  assert.throws(() => loadConfig({ NODE_ENV: "production", LIVEKIT_API_KEY: "k", LIVEKIT_API_SECRET: "short" }), /shorter than 32/);
  const ok = loadConfig({ NODE_ENV: "production", LIVEKIT_KEYS: "prod: 0123456789abcdef0123456789abcdef" });
  assert.equal(ok.devKeys, false);
  assert.equal(ok.demo, false);
});

test("LIVEKIT_KEYS accepts key:secret and key: secret, separated by commas or newlines", () => {
  const keys = parseApiKeys("a:one,b: two\nc:three");
  assert.ok(keys instanceof Map);
  assert.deepEqual([...keys], [["a", "one"], ["b", "two"], ["c", "three"]]);
  assert.equal(typeof parseApiKeys("nocolon"), "string");
  assert.equal(typeof parseApiKeys("a:1,a:2"), "string");
});

test("REDIS_HOST/PORT/PASSWORD build a URL; the hybrid requirement needs the hybrid default", () => {
  assert.equal(loadConfig({ REDIS_HOST: "r", REDIS_PORT: "6380", REDIS_PASSWORD: "p@ss" }).redis?.url, "redis://:p%40ss@r:6380");
  assert.throws(() => loadConfig({ VOLLY_PQ_REQUIRE_HYBRID: "true" }), /X25519MLKEM768/);
  assert.equal(loadConfig({ VOLLY_PQ_REQUIRE_HYBRID: "true", VOLLY_PQ_ALGORITHM: "X25519MLKEM768" }).pq.requireHybrid, true);
});
