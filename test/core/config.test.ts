import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, frameBytesForData, loadConfig } from "../../src/config.js";
import { parseApiKeys } from "../../src/auth/api-keys.js";
import { defaultNodeId, NODE_ID_PATTERN } from "../../src/config-node-id.js";
import { problemsOf } from "../helpers/config-problems.js";

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
  assert.equal(parseApiKeys("nocolon"), 'entry 1 of 1 is not "key: secret" (no colon after the key)');
  assert.equal(parseApiKeys("a:1,a:2"), "entry 2 of 2 repeats the key of entry 1");
  assert.equal(parseApiKeys("# only a comment\n"), 'no "key: secret" pairs found');
});

test("REDIS_HOST/PORT/PASSWORD build a URL; the hybrid requirement needs the hybrid default", () => {
  assert.equal(loadConfig({ REDIS_HOST: "r", REDIS_PORT: "6380", REDIS_PASSWORD: "p@ss" }).redis?.url, "redis://:p%40ss@r:6380");
  assert.throws(() => loadConfig({ VOLLY_PQ_REQUIRE_HYBRID: "true" }), /X25519MLKEM768/);
  assert.equal(loadConfig({ VOLLY_PQ_REQUIRE_HYBRID: "true", VOLLY_PQ_ALGORITHM: "X25519MLKEM768" }).pq.requireHybrid, true);
});


test("half a key pair is an error naming the missing variable, never completed with the development half", () => {
  assert.deepEqual(problemsOf({ LIVEKIT_API_KEY: "my-key" }), ["LIVEKIT_API_KEY is set but LIVEKIT_API_SECRET is missing: set both (or LIVEKIT_KEYS)"]);
  assert.deepEqual(problemsOf({ LIVEKIT_API_SECRET: "my-secret" }), ["LIVEKIT_API_SECRET is set but LIVEKIT_API_KEY is missing: set both (or LIVEKIT_KEYS)"]);
  // Under production the complaint is the missing secret, not a development key the operator never set.
  assert.deepEqual(problemsOf({ NODE_ENV: "production", LIVEKIT_API_KEY: "my-key" }), ["LIVEKIT_API_KEY is set but LIVEKIT_API_SECRET is missing: set both (or LIVEKIT_KEYS)"]);
  assert.deepEqual(problemsOf({ LIVEKIT_API_KEY: "", LIVEKIT_API_SECRET: "s" }), ["LIVEKIT_API_KEY must not be empty"]);
  // LIVEKIT_KEYS wins over a half pair, as documented.
  assert.deepEqual(problemsOf({ LIVEKIT_KEYS: "a: one", LIVEKIT_API_KEY: "ignored" }), []);
  assert.equal(loadConfig({ LIVEKIT_API_KEY: "k", LIVEKIT_API_SECRET: "s" }).keys.get("k"), "s");
});

test("a key of one's own with the public development secret is refused (what compose's default secret builds)", () => {
  const envs: Array<Record<string, string>> = [
    { LIVEKIT_API_KEY: "my-key", LIVEKIT_API_SECRET: "volly-dev-secret-key-2024" },
    { LIVEKIT_KEYS: "my-key: volly-dev-secret-key-2024" },
  ];
  for (const env of envs) {
    const problems = problemsOf(env);
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0] ?? "", /secret of API key "my-key" is the public development secret/);
  }
  assert.deepEqual(problemsOf({ LIVEKIT_API_KEY: "volly-dev-key", LIVEKIT_API_SECRET: "volly-dev-secret-key-2024" }), []);
});

test("the signaling and API ports must differ, except 0 (any free port)", () => {
  assert.deepEqual(problemsOf({ VOLLY_PORT: "9000", VOLLY_API_PORT: "9000" }), ["VOLLY_PORT and VOLLY_API_PORT are both 9000: the signaling and API ports must differ"]);
  assert.deepEqual(problemsOf({ VOLLY_PORT: "7881" }), ["VOLLY_PORT and VOLLY_API_PORT are both 7881: the signaling and API ports must differ"]);
  assert.deepEqual(problemsOf({ VOLLY_PORT: "0", VOLLY_API_PORT: "0" }), []);
});

test("TURN URLs need VOLLY_TURN_SECRET and the secret needs URLs", () => {
  assert.match(problemsOf({ VOLLY_TURN_URLS: "turn:turn.example.test:3478" }).join("\n"), /VOLLY_TURN_URLS is set but VOLLY_TURN_SECRET is missing/);
  assert.match(problemsOf({ VOLLY_TURN_SECRET: "s" }).join("\n"), /VOLLY_TURN_SECRET is set but VOLLY_TURN_URLS is empty/);
  assert.deepEqual(problemsOf({ VOLLY_TURN_URLS: "turn:turn.example.test:3478", VOLLY_TURN_SECRET: "s" }), []);
});

test("STUN and TURN URLs follow RFC 7064/7065", () => {
  const good = {
    VOLLY_STUN_URLS: "stun:stun.example.test, stuns:stun.example.test:5349,stun:192.0.2.1:3478,stun:[2001:db8::1]:3478",
    VOLLY_TURN_URLS: "turn:turn.example.test:3478?transport=udp,turns:turn.example.test:5349?transport=tcp,turn:[2001:db8::1]",
    VOLLY_TURN_SECRET: "s",
  };
  assert.deepEqual(problemsOf(good), []);
  assert.deepEqual(loadConfig(good).ice.stunUrls, ["stun:stun.example.test", "stuns:stun.example.test:5349", "stun:192.0.2.1:3478", "stun:[2001:db8::1]:3478"]);
  const badStun = ["http://stun.example.test", "javascript:alert(1)", "stun://stun.example.test", "stun:", "stun:host:0", "stun:host:70000", "turn:host", "STUN:host", "stun:host?transport=udp"];
  for (const url of badStun) {
    assert.deepEqual(problemsOf({ VOLLY_STUN_URLS: url }), [`VOLLY_STUN_URLS: ${JSON.stringify(url)} is not a STUN URL: expected stun:host[:port] or stuns:host[:port] (RFC 7064)`], url);
  }
  const badTurn = ["https://turn.example.test", "javascript:alert(1)", "stun:host", "turn:host?transport=sctp", "turn:user@host", "turns:host:99999"];
  for (const url of badTurn) {
    assert.match(problemsOf({ VOLLY_TURN_URLS: url, VOLLY_TURN_SECRET: "s" }).join("\n"), /^VOLLY_TURN_URLS: .* is not a TURN URL: expected turn:host\[:port\]/, url);
  }
});

test("VOLLY_NODE_ID is limited to [A-Za-z0-9_.-]{1,64}; the default built from the host name always fits", () => {
  for (const id of ["node 1", "node:1", "node{1}", "x".repeat(65), "nöde"]) {
    assert.match(problemsOf({ VOLLY_NODE_ID: id }).join("\n"), /^VOLLY_NODE_ID=.* must be 1-64 characters from A-Z, a-z, 0-9/, JSON.stringify(id));
  }
  // Control characters get the message every free-text variable gives, even at the end where trimming would hide them.
  for (const id of ["a\nb", "node-1\r"]) {
    assert.deepEqual(problemsOf({ VOLLY_NODE_ID: id }), [`VOLLY_NODE_ID=${JSON.stringify(id)} contains a control character (a newline or tab?)`]);
  }
  assert.equal(loadConfig({ VOLLY_NODE_ID: " ND_eu-1.a " }).nodeId, "ND_eu-1.a");
  assert.match(loadConfig({}).nodeId, NODE_ID_PATTERN);
  for (const host of ["plain-host", "host.with.dots", "weird host:name{1}\n", "ünïcode-høst", "", "x".repeat(200)]) {
    assert.match(defaultNodeId(host), NODE_ID_PATTERN, JSON.stringify(host));
  }
  assert.equal(defaultNodeId("my:host", "0011aabb"), "ND_my_host_0011aabb");
});

test("REDIS_PREFIX and VOLLY_HOST refuse control characters", () => {
  assert.deepEqual(problemsOf({ REDIS_URL: "redis://r:6379", REDIS_PREFIX: "volly\n" }), ['REDIS_PREFIX="volly\\n" contains a control character (a newline or tab?)']);
  assert.match(problemsOf({ VOLLY_HOST: "0.0.0.0\r" }).join("\n"), /VOLLY_HOST="0\.0\.0\.0\\r" contains a control character/);
  assert.equal(loadConfig({ REDIS_URL: "redis://r:6379", REDIS_PREFIX: "volly:" }).redis?.prefix, "volly:");
});

test("enumerations are trimmed and case-insensitive like booleans and numbers, and keep their canonical spelling", () => {
  const c = loadConfig({ LOG_LEVEL: "INFO", VOLLY_PQ_ALGORITHM: " x25519mlkem768 ", VOLLY_PQ_ENABLED: " TRUE ", VOLLY_PORT: " 9000 " });
  assert.deepEqual([c.logLevel, c.pq.algorithm, c.pq.enabled, c.port], ["info", "X25519MLKEM768", true, 9000]);
  assert.equal(loadConfig({ LOG_LEVEL: " Warn" }).logLevel, "warn");
  assert.equal(loadConfig({ VOLLY_PQ_ALGORITHM: " ML-KEM-768" }).pq.algorithm, "ML-KEM-768");
  assert.match(problemsOf({ LOG_LEVEL: "verbose" }).join("\n"), /LOG_LEVEL="verbose" must be one of fatal, error, warn, info, debug, trace, silent/);
});

test("NODE_ENV is production whatever its case and surrounding whitespace or control characters: a near miss fails closed", () => {
  const keys = "prod: 0123456789abcdef0123456789abcdef";
  for (const value of ["production\r", "production ", " production", "Production", "PRODUCTION", "production\r\n", "\tproduction\u0000"]) {
    assert.match(problemsOf({ NODE_ENV: value }).join("\n"), /development key .* refused when NODE_ENV=production/, JSON.stringify(value));
    const c = loadConfig({ NODE_ENV: value, LIVEKIT_KEYS: keys });
    assert.deepEqual([c.production, c.demo, c.devKeys], [true, false, false], JSON.stringify(value));
  }
  for (const value of ["development", "test", "prod", "production-like", "pro duction"]) {
    assert.equal(loadConfig({ NODE_ENV: value }).production, false, value);
  }
});

test("VOLLY_PQ_REQUIRE_HYBRID=true is refused with VOLLY_PQ_ENABLED=false (signaling would be in plaintext)", () => {
  assert.deepEqual(problemsOf({ VOLLY_PQ_ENABLED: "false", VOLLY_PQ_REQUIRE_HYBRID: "true", VOLLY_PQ_ALGORITHM: "X25519MLKEM768" }), [
    "VOLLY_PQ_REQUIRE_HYBRID=true needs VOLLY_PQ_ENABLED=true: with VOLLY_PQ_ENABLED=false signaling is not encrypted at all",
  ]);
  assert.deepEqual(problemsOf({ VOLLY_PQ_ENABLED: "false", VOLLY_PQ_REQUIRE_HYBRID: "false" }), []);
});

test("VOLLY_MAX_FRAME_BYTES must hold a data message of VOLLY_MAX_DATA_BYTES: payload x16/9 (x4/3 without PQ) + 1024", () => {
  assert.deepEqual([frameBytesForData(16_384, true), frameBytesForData(16_384, false)], [30_152, 22_870]);
  assert.deepEqual(problemsOf({}), [], "the defaults, 262144 / 16384, hold");
  assert.deepEqual(problemsOf({ VOLLY_MAX_FRAME_BYTES: "4096", VOLLY_MAX_DATA_BYTES: "1728" }), []);
  assert.deepEqual(problemsOf({ VOLLY_MAX_FRAME_BYTES: "4096", VOLLY_MAX_DATA_BYTES: "1729" }), [
    "VOLLY_MAX_DATA_BYTES=1729 needs VOLLY_MAX_FRAME_BYTES of at least 4098 (the payload times 16/9 (base64 in JSON, sealed, base64 again), plus 1024 for the rest of the message); it is 4096",
  ]);
  assert.deepEqual(problemsOf({ VOLLY_PQ_ENABLED: "false", VOLLY_MAX_FRAME_BYTES: "4096", VOLLY_MAX_DATA_BYTES: "2304" }), []);
  assert.match(problemsOf({ VOLLY_PQ_ENABLED: "false", VOLLY_MAX_FRAME_BYTES: "4096", VOLLY_MAX_DATA_BYTES: "2305" }).join("\n"), /^VOLLY_MAX_DATA_BYTES=2305 needs VOLLY_MAX_FRAME_BYTES of at least 4098 \(the payload times 4\/3/);
  // The probe's case: join advertised 16384 and a 2000-byte payload was refused with frame_too_large.
  assert.match(problemsOf({ VOLLY_MAX_FRAME_BYTES: "1024", VOLLY_MAX_DATA_BYTES: "16384" }).join("\n"), /^VOLLY_MAX_DATA_BYTES=16384 needs VOLLY_MAX_FRAME_BYTES of at least 30152/);
  // Unset, the data limit is what the frame holds, up to 16 KiB.
  assert.equal(loadConfig({ VOLLY_MAX_FRAME_BYTES: "4096" }).limits.maxDataBytes, 1728);
  assert.equal(loadConfig({ VOLLY_PQ_ENABLED: "false", VOLLY_MAX_FRAME_BYTES: "2048" }).limits.maxDataBytes, 768);
  assert.equal(loadConfig({ VOLLY_MAX_FRAME_BYTES: "1048576" }).limits.maxDataBytes, 16_384);
  assert.match(problemsOf({ VOLLY_MAX_FRAME_BYTES: "1024" }).join("\n"), /^VOLLY_MAX_FRAME_BYTES=1024 leaves no room for a data payload/);
  // A bad value is reported alone, not also compared with the other.
  assert.deepEqual(problemsOf({ VOLLY_MAX_FRAME_BYTES: "1024", VOLLY_MAX_DATA_BYTES: "x" }), ['VOLLY_MAX_DATA_BYTES="x" is not a whole number']);
});

test("VOLLY_MAX_UNACKED_BYTES must hold the largest message one participant can be sent", () => {
  const refused = (unacked: number, frame: number, largest: number) =>
    `VOLLY_MAX_UNACKED_BYTES=${unacked} is less than the largest message one participant can be sent, ${largest} bytes (a request relayed at VOLLY_MAX_FRAME_BYTES=${frame} plus 1088 for its sender, or a participant update at the metadata and attribute limits, 139264): one such message would disconnect its recipient`;
  // A relayed request is at most a frame, plus the sender's identity and sid stamped on it.
  assert.deepEqual(problemsOf({ VOLLY_MAX_UNACKED_BYTES: "65536" }), [refused(65_536, 262_144, 263_232)]);
  assert.deepEqual(problemsOf({ VOLLY_MAX_UNACKED_BYTES: "263231" }), [refused(263_231, 262_144, 263_232)]);
  assert.deepEqual(problemsOf({ VOLLY_MAX_UNACKED_BYTES: "263232" }), []);
  // The probe's case: a 200000-byte data message disconnected its recipient.
  assert.deepEqual(problemsOf({ VOLLY_MAX_FRAME_BYTES: "4194304", VOLLY_MAX_DATA_BYTES: "1000000", VOLLY_MAX_UNACKED_BYTES: "65536" }), [refused(65_536, 4_194_304, 4_195_392)]);
  // The largest frame needs more than the default limit.
  assert.deepEqual(problemsOf({ VOLLY_MAX_FRAME_BYTES: "16777216" }), [refused(16_777_216, 16_777_216, 16_778_304)]);
  // With small frames a participant update (64 KiB metadata and 64 KiB of attributes) is the largest.
  assert.deepEqual(problemsOf({ VOLLY_MAX_FRAME_BYTES: "4096", VOLLY_MAX_UNACKED_BYTES: "139263" }), [refused(139_263, 4096, 139_264)]);
  assert.deepEqual(problemsOf({ VOLLY_MAX_FRAME_BYTES: "4096", VOLLY_MAX_UNACKED_BYTES: "139264" }), []);
});
