// Start-up validation that must neither echo a secret nor let a bad or unused value through: LIVEKIT_KEYS
// entries, the two ways of naming Redis, control characters in free-text variables, blank secrets.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config.js";
import { problemsOf } from "../helpers/config-problems.js";


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
  for (const port of ["0", "65536", "-1", "6379x"]) {
    assert.match(problemsOf({ REDIS_HOST: "r", REDIS_PORT: port }).join("\n"), /^REDIS_PORT=/, port);
  }
  assert.deepEqual(problemsOf({ REDIS_HOST: "r", REDIS_PORT: " " }), ["REDIS_PORT is set but blank (only whitespace)"]);
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

test("a blank value (only whitespace) is a problem for every variable, never its default; an empty one is unset", () => {
  const blank = (name: string) => `${name} is set but blank (only whitespace)`;
  // The variables that fell back to their defaults (for LIVEKIT_KEYS: the development keys and token endpoint).
  for (const name of ["LIVEKIT_KEYS", "VOLLY_NODE_ID", "VOLLY_HOST", "VOLLY_REGION", "REDIS_PREFIX", "NODE_ENV", "VOLLY_STUN_URLS", "VOLLY_PORT", "LOG_LEVEL", "VOLLY_PQ_ENABLED"]) {
    for (const value of [" ", "   ", "\t", " \r\n"]) {
      assert.deepEqual(problemsOf({ [name]: value }), [blank(name)], `${name}=${JSON.stringify(value)}`);
    }
  }
  assert.deepEqual(problemsOf({ REDIS_HOST: "r", REDIS_PREFIX: "  " }), [blank("REDIS_PREFIX")]);
  assert.deepEqual(problemsOf({ LIVEKIT_API_KEY: " ", LIVEKIT_API_SECRET: GOOD_SECRET }), [blank("LIVEKIT_API_KEY")]);
  assert.deepEqual(problemsOf({ LIVEKIT_API_KEY: "k", LIVEKIT_API_SECRET: "\r" }), [blank("LIVEKIT_API_SECRET")]);
  const c = loadConfig({ LIVEKIT_KEYS: "", VOLLY_NODE_ID: "", VOLLY_HOST: "", VOLLY_REGION: "", REDIS_PREFIX: "", NODE_ENV: "" });
  assert.deepEqual([c.devKeys, c.host, c.region, c.production], [true, "", "", false]);
});

test("LIVEKIT_API_KEY and LIVEKIT_API_SECRET refuse control characters and surrounding whitespace, never quoting them", () => {
  const values = (v: string) => [`${v}\r`, `${v} `, ` ${v}`, `${v}\n`, `\t${v}`, `${v.slice(0, 5)}\u0001${v.slice(5)}`];
  for (const key of values("my-production-key")) {
    const problems = problemsOf({ LIVEKIT_API_KEY: key, LIVEKIT_API_SECRET: GOOD_SECRET });
    assert.equal(problems.length, 1, `${JSON.stringify(key)}: ${problems.join("\n")}`);
    assert.match(problems[0] ?? "", /^LIVEKIT_API_KEY (contains a control character|has leading or trailing whitespace)/, JSON.stringify(key));
  }
  for (const secret of values(SECRET)) {
    const message = messageOf({ LIVEKIT_API_KEY: "k", LIVEKIT_API_SECRET: secret });
    assert.match(message, /LIVEKIT_API_SECRET (contains a control character|has leading or trailing whitespace)/, JSON.stringify(secret));
    assertNoSecret(message, SECRET);
  }
  assert.equal(loadConfig({ LIVEKIT_API_KEY: "k", LIVEKIT_API_SECRET: "a secret with spaces inside" }).keys.get("k"), "a secret with spaces inside");
});

test("LIVEKIT_KEYS trims by its format (a Windows line end included) but refuses a control character inside a key or secret", () => {
  assert.deepEqual([...loadConfig({ LIVEKIT_KEYS: `a: ${GOOD_SECRET}\r\nb: ${SECRET}\r\n` }).keys], [["a", GOOD_SECRET], ["b", SECRET]]);
  for (const keys of [`a: ${GOOD_SECRET}\nb: ${SECRET.slice(0, 8)}\t${SECRET.slice(8)}`, `a: ${GOOD_SECRET}\nb\u0001: ${SECRET}`]) {
    const message = messageOf({ LIVEKIT_KEYS: keys });
    assert.deepEqual(problemsOf({ LIVEKIT_KEYS: keys }), ["LIVEKIT_KEYS: entry 2 of 2 has a control character (a tab?) in its key or secret"]);
    assertNoSecret(message, SECRET);
  }
});

test("REDIS_URL must parse as a URL, checked at start-up and never quoted", () => {
  const invalid = "REDIS_URL is not a valid URL (redis[s]://[:password@]host[:port], an IPv6 address in brackets, a password's special characters %-encoded); its value is not shown as it may hold a password";
  for (const url of ["redis://[bad", `redis://:${SECRET}@[bad`, "redis://::1:6379", `redis://:${SECRET}@r:99999`, "redis://r:port"]) {
    assert.deepEqual(problemsOf({ REDIS_URL: url }), [invalid], url);
    assertNoSecret(messageOf({ REDIS_URL: url }), SECRET);
  }
  assert.equal(loadConfig({ REDIS_URL: "redis://[::1]:6379" }).redis?.url, "redis://[::1]:6379");
});

test("REDIS_HOST: an IPv6 address is bracketed in the URL; a port in it, or anything but a host, is a problem", () => {
  for (const host of ["::1", "[::1]", " ::1 "]) assert.equal(loadConfig({ REDIS_HOST: host, REDIS_PORT: "8491" }).redis?.url, "redis://[::1]:8491", host);
  assert.equal(loadConfig({ REDIS_HOST: "2001:db8::5", REDIS_PASSWORD: "p" }).redis?.url, "redis://:p@[2001:db8::5]:6379");
  assert.equal(loadConfig({ REDIS_HOST: "10.0.0.5" }).redis?.url, "redis://10.0.0.5:6379");
  for (const host of ["127.0.0.1:8490", "redis.example:6379", "redis:"]) {
    assert.deepEqual(problemsOf({ REDIS_HOST: host }), [`REDIS_HOST=${JSON.stringify(host)} has a port in it: give the host alone and the port in REDIS_PORT`], host);
  }
  for (const host of ["redis/0", "user@redis", "redis host", "[redis]", "::1::2"]) {
    assert.deepEqual(problemsOf({ REDIS_HOST: host }), [`REDIS_HOST=${JSON.stringify(host)} is not a host name or an IP address`], host);
  }
});
