// Start-up validation that must neither echo a secret nor let a bad or unused value through: LIVEKIT_KEYS
// entries, the two ways of naming Redis, control characters in free-text variables, blank secrets.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../src/config.js";
import { problemsOf } from "./helpers/config-problems.js";


/** The whole `ConfigError` message (what reaches stderr) for an `env` that must be refused. */
function messageOf(env: Record<string, string>): string {
  const problems = problemsOf(env);
  assert.notEqual(problems.length, 0, `accepted: ${JSON.stringify(env)}`);
  return new ConfigError(problems).message;
}

/** Fails when `message` holds `secret` or any 6 characters in a row of it. */
function assertNoSecret(message: string, secret: string): void {
  for (let i = 0; i + 6 <= secret.length; i++) {
    const piece = secret.slice(i, i + 6);
    assert.ok(!message.includes(piece), `${JSON.stringify(piece)} of the secret is in: ${message}`);
  }
}

const SECRET = "MyVerySecretValue0123456789abcdefXYZ";
const GOOD_SECRET = "0123456789abcdef0123456789abcdef";

test("a LIVEKIT_KEYS entry that does not parse is named by its position, never by its text", () => {
  assert.deepEqual(problemsOf({ LIVEKIT_KEYS: `prodkey=${SECRET}` }), ['LIVEKIT_KEYS: entry 1 of 1 is not "key: secret" (no colon after the key)']);
  assert.deepEqual(problemsOf({ LIVEKIT_KEYS: `a: ${GOOD_SECRET}\nprodkey=${SECRET}\nc: ${GOOD_SECRET}` }), ['LIVEKIT_KEYS: entry 2 of 3 is not "key: secret" (no colon after the key)']);
  // Blank lines and comments are not counted, so the position is the one the operator sees among entries.
  assert.match(problemsOf({ LIVEKIT_KEYS: `# keys\n\na: ${GOOD_SECRET}\n\n${SECRET}` }).join("\n"), /^LIVEKIT_KEYS: entry 2 of 2 is not "key: secret"/);
  const cases: Array<[string, RegExp]> = [
    [`prodkey=${SECRET}`, /entry 1 of 1 is not "key: secret"/],
    [`: ${SECRET}`, /entry 1 of 1 has an empty key/],
    [`${SECRET}:`, /entry 1 of 1 has an empty secret/],
    [`a: ${SECRET}, a: ${SECRET}x`, /entry 2 of 2 repeats the key of entry 1/],
    [`a: ${SECRET.slice(0, 10)},${SECRET.slice(10)}`, /entry 2 of 2 is not "key: secret"/],
  ];
  for (const [keys, expected] of cases) {
    const message = messageOf({ LIVEKIT_KEYS: keys });
    assert.match(message, expected, keys);
    assertNoSecret(message, SECRET);
  }
});

test("a secret cut by a comma is pointed out: secrets in LIVEKIT_KEYS cannot contain commas", () => {
  assert.deepEqual(problemsOf({ LIVEKIT_KEYS: "prod: abc,def-rest-of-the-secret" }), [
    'LIVEKIT_KEYS: entry 2 of 2 is not "key: secret" (no colon after the key); if the secret of entry 1 contains a comma, it was cut there: secrets in LIVEKIT_KEYS cannot contain commas',
  ]);
  // After a newline the comma cannot be the cause.
  assert.doesNotMatch(problemsOf({ LIVEKIT_KEYS: "prod: abc\nnocolon" }).join("\n"), /comma/);
});

test("no configuration error quotes an API, TURN or Redis secret", () => {
  const envs: Array<Record<string, string>> = [
    { NODE_ENV: "production", LIVEKIT_API_KEY: "k", LIVEKIT_API_SECRET: SECRET.slice(0, 20) },
    { NODE_ENV: "production", LIVEKIT_KEYS: `k: ${SECRET.slice(0, 20)}` },
    { LIVEKIT_API_SECRET: SECRET },
    { VOLLY_TURN_SECRET: SECRET },
    { REDIS_URL: `redis://:${SECRET}@redis.example:6379`, REDIS_PASSWORD: SECRET },
    { REDIS_URL: `http://:${SECRET}@redis.example:6379` },
    { REDIS_URL: `redis://:${SECRET}@redis.example:6379\n` },
    { REDIS_PASSWORD: SECRET },
    { REDIS_HOST: "redis.example", REDIS_PORT: "x", REDIS_PASSWORD: SECRET },
  ];
  for (const env of envs) assertNoSecret(messageOf(env), SECRET);
});

test("a set REDIS_PORT is always validated as a port, whichever way Redis is named", () => {
  const envs: Array<Record<string, string>> = [{ REDIS_PORT: "abc" }, { REDIS_URL: "redis://r:6379", REDIS_PORT: "abc" }, { REDIS_HOST: "r", REDIS_PORT: "abc" }];
  for (const env of envs) {
    assert.ok(problemsOf(env).includes('REDIS_PORT="abc" is not a whole number'), JSON.stringify(env));
  }
  for (const port of ["0", "65536", "-1", "6379x", " "]) {
    assert.match(problemsOf({ REDIS_HOST: "r", REDIS_PORT: port }).join("\n"), /^REDIS_PORT=/, port);
  }
  assert.equal(loadConfig({ REDIS_HOST: "r", REDIS_PORT: " 6380 " }).redis?.url, "redis://r:6380");
});

test("REDIS_URL excludes REDIS_HOST/REDIS_PORT/REDIS_PASSWORD, and those need REDIS_HOST", () => {
  const both = "use REDIS_URL alone, with any password in it (redis://:password@host:port), or REDIS_HOST/REDIS_PORT/REDIS_PASSWORD without REDIS_URL";
  assert.deepEqual(problemsOf({ REDIS_URL: "redis://r:6379", REDIS_PASSWORD: "p" }), [`REDIS_URL is set and so is REDIS_PASSWORD: ${both}`]);
  assert.deepEqual(problemsOf({ REDIS_URL: "redis://r:6379", REDIS_HOST: "r", REDIS_PORT: "6379", REDIS_PASSWORD: "p" }), [
    `REDIS_URL is set and so are REDIS_HOST, REDIS_PORT, REDIS_PASSWORD: ${both}`,
  ]);
  const hostless = "set REDIS_HOST (or REDIS_URL alone) to use Redis; without either the node keeps its state in memory";
  assert.deepEqual(problemsOf({ REDIS_PASSWORD: "p" }), [`REDIS_PASSWORD is set but REDIS_HOST is not: ${hostless}`]);
  assert.deepEqual(problemsOf({ REDIS_PORT: "6379", REDIS_PASSWORD: "p" }), [`REDIS_PORT, REDIS_PASSWORD are set but REDIS_HOST is not: ${hostless}`]);
  // Empty is unset (what Compose writes for an unset `${VAR}`), so an override can clear the other form.
  assert.equal(loadConfig({ REDIS_URL: "redis://r:6379", REDIS_HOST: "", REDIS_PORT: "", REDIS_PASSWORD: "" }).redis?.url, "redis://r:6379");
  // The environments docker-compose.signaling.yml (and its production override) build.
  assert.equal(loadConfig({ REDIS_HOST: "volly-redis", REDIS_PORT: "6379", REDIS_PASSWORD: "volly-dev-redis-password" }).redis?.url, "redis://:volly-dev-redis-password@volly-redis:6379");
  assert.equal(loadConfig({ REDIS_HOST: "volly-redis", REDIS_PORT: "6379", REDIS_PASSWORD: "p@ss:w/rd?" }).redis?.url, "redis://:p%40ss%3Aw%2Frd%3F@volly-redis:6379");
  assert.equal(loadConfig({ REDIS_HOST: "volly-redis" }).redis?.url, "redis://volly-redis:6379");
});

test("blank Redis host and password are refused rather than read as absent", () => {
  assert.deepEqual(problemsOf({ REDIS_HOST: "r", REDIS_PASSWORD: "   " }), ["REDIS_PASSWORD is set but blank (only whitespace)"]);
  assert.deepEqual(problemsOf({ REDIS_HOST: "  ", REDIS_PORT: "6379" }), ["REDIS_HOST is set but blank (only whitespace)"]);
});

test("free-text variables refuse control characters, even where trimming would hide them", () => {
  for (const name of ["VOLLY_HOST", "VOLLY_NODE_ID", "VOLLY_REGION", "REDIS_PREFIX", "REDIS_HOST"]) {
    for (const value of ["eu\nwest", "eu-west\r", "\teu-west", "eu\u007fwest"]) {
      assert.deepEqual(problemsOf({ [name]: value }), [`${name}=${JSON.stringify(value)} contains a control character (a newline or tab?)`], `${name}=${JSON.stringify(value)}`);
    }
  }
  assert.deepEqual(problemsOf({ REDIS_URL: "redis://r:6379\r" }), ["REDIS_URL contains a control character (a newline or tab?); its value is not shown as it may hold a password"]);
  const c = loadConfig({ VOLLY_REGION: " eu-west ", VOLLY_NODE_ID: " node-1 " });
  assert.deepEqual([c.region, c.nodeId], ["eu-west", "node-1"]);
});

test("a blank VOLLY_TURN_SECRET is refused like a missing one", () => {
  const turn = "turn:turn.example.test:3478";
  for (const secret of ["   ", "\t", " \n "]) {
    assert.deepEqual(problemsOf({ VOLLY_TURN_URLS: turn, VOLLY_TURN_SECRET: secret }), ["VOLLY_TURN_SECRET is set but blank (only whitespace)"], JSON.stringify(secret));
    assert.deepEqual(problemsOf({ VOLLY_TURN_SECRET: secret }), ["VOLLY_TURN_SECRET is set but blank (only whitespace)"], JSON.stringify(secret));
  }
  assert.equal(loadConfig({ VOLLY_TURN_URLS: turn, VOLLY_TURN_SECRET: "s" }).ice.turnSecret, "s");
  assert.equal(loadConfig({ VOLLY_TURN_SECRET: "" }).ice.turnSecret, undefined);
});

test("VOLLY_MAX_REFLECTION_STREAMS is a whole number from 1, 64 unless set, and reported with the other problems", () => {
  assert.equal(loadConfig({}).limits.maxReflectionStreams, 64);
  assert.equal(loadConfig({ VOLLY_MAX_REFLECTION_STREAMS: " 8 " }).limits.maxReflectionStreams, 8);
  assert.deepEqual(problemsOf({ VOLLY_MAX_REFLECTION_STREAMS: "0" }), ["VOLLY_MAX_REFLECTION_STREAMS=0 is outside 1..100000"]);
  assert.deepEqual(problemsOf({ VOLLY_MAX_REFLECTION_STREAMS: "100001" }), ["VOLLY_MAX_REFLECTION_STREAMS=100001 is outside 1..100000"]);
  assert.deepEqual(problemsOf({ VOLLY_MAX_REFLECTION_STREAMS: "-1" }), ['VOLLY_MAX_REFLECTION_STREAMS="-1" is not a whole number']);
  assert.deepEqual(problemsOf({ VOLLY_MAX_REFLECTION_STREAMS: "lots", VOLLY_HTTP2_MAX_STREAMS: "0" }), [
    "VOLLY_HTTP2_MAX_STREAMS=0 is outside 1..100000",
    'VOLLY_MAX_REFLECTION_STREAMS="lots" is not a whole number',
  ]);
});
