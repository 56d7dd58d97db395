// How the server process (`node dist/server/main.js`, what `npm start` runs) fails to start: configuration
// problems all listed on stderr with exit 78; a port taken by another process, a VOLLY_HOST that does not resolve
// or Redis not answering as one fatal line without a stack, exit 1 (docs/operations.md §1).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { useTakenPort } from "../helpers/taken-port.js";
import { NODE_ID_PATTERN } from "../../src/config-node-id.js";
import { freePort } from "../helpers/redis.js";
import { parseLine, runServer, type ServerRun } from "../helpers/server-run.js";

/**
 * Runs the server with `env` until it exits, or until it logs "listening", when it is stopped with SIGTERM and
 * `stoppedAt` holds that line.
 */
function runMain(env: Record<string, string>): Promise<ServerRun> {
  return runServer(env, 45_000, "listening");
}

/** The one fatal line a start-up failure prints: exactly one stdout line, JSON, no stack, no source paths. */
function fatalLine(run: ServerRun): { code?: string; msg: string } {
  assert.equal(run.code, 1, `exit code\n${run.stdout}${run.stderr}`);
  assert.equal(run.stderr, "");
  const lines = run.stdout.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `one line:\n${run.stdout}`);
  const entry = parseLine(lines[0] ?? "");
  assert.ok(entry, lines[0]);
  assert.equal(entry.level, "fatal");
  assert.equal(entry.err, undefined);
  assert.doesNotMatch(run.stdout, /stack|\.ts:\d|node:internal|\/src\//, "no stack trace or source paths");
  assert.equal(typeof entry.msg, "string");
  return { msg: String(entry.msg), ...(typeof entry.code === "string" ? { code: entry.code } : {}) };
}

describe("configuration errors: every problem on stderr, exit 78", { concurrency: true }, () => {
  test("half a key pair, equal ports, TURN without secret, bad ICE URLs, node id, Redis prefix: all listed at once", async () => {
    const run = await runMain({
      LIVEKIT_API_KEY: "my-key",
      VOLLY_PORT: "7990",
      VOLLY_API_PORT: "7990",
      VOLLY_TURN_URLS: "turn:turn.example.test:3478",
      VOLLY_STUN_URLS: "http://stun.example.test,javascript:alert(1)",
      VOLLY_NODE_ID: "node:1 {x}",
      REDIS_URL: "redis://127.0.0.1:6379",
      REDIS_PREFIX: "volly\n",
    });
    assert.equal(run.code, 78, run.stderr);
    assert.equal(run.stdout, "");
    for (const expected of [
      /LIVEKIT_API_KEY is set but LIVEKIT_API_SECRET is missing/,
      /VOLLY_PORT and VOLLY_API_PORT are both 7990/,
      /VOLLY_TURN_URLS is set but VOLLY_TURN_SECRET is missing/,
      /VOLLY_STUN_URLS: "http:\/\/stun\.example\.test" is not a STUN URL/,
      /VOLLY_STUN_URLS: "javascript:alert\(1\)" is not a STUN URL/,
      /VOLLY_NODE_ID="node:1 \{x\}" must be 1-64 characters/,
      /REDIS_PREFIX="volly\\n" contains a control character/,
    ]) {
      assert.match(run.stderr, expected);
    }
  });

  test("production with a key of one's own and no secret: the secret is what is missing, not a development key", async () => {
    const run = await runMain({ NODE_ENV: "production", LIVEKIT_API_KEY: "my-production-key" });
    assert.equal(run.code, 78);
    assert.equal(run.stderr, "invalid configuration:\n  LIVEKIT_API_KEY is set but LIVEKIT_API_SECRET is missing: set both (or LIVEKIT_KEYS)\n");
  });

  test("LOG_LEVEL=INFO and a padded VOLLY_PQ_ALGORITHM are accepted; the generated node id is key-safe", async () => {
    const run = await runMain({ LOG_LEVEL: "INFO", VOLLY_PQ_ALGORITHM: " X25519MLKEM768" });
    assert.ok(run.stoppedAt, `did not start:\n${run.stdout}${run.stderr}`);
    assert.equal(run.stoppedAt.pq, "X25519MLKEM768");
    assert.match(String(run.stoppedAt.nodeId), NODE_ID_PATTERN);
    assert.equal(run.code, 0, "SIGTERM drains and exits 0");
  });
});

describe("start-up failures that are not configuration: one fatal line, exit 1", { concurrency: true }, () => {
  const taken = useTakenPort();

  test("VOLLY_PORT taken by another process", async () => {
    const { code, msg } = fatalLine(await runMain({ VOLLY_PORT: String(taken.port) }));
    assert.equal(code, "EADDRINUSE");
    assert.equal(msg, `start-up failed: port ${taken.port} (VOLLY_PORT) is already in use by another process (listen EADDRINUSE: address already in use 127.0.0.1:${taken.port})`);
  });

  test("VOLLY_API_PORT taken by another process", async () => {
    const { msg } = fatalLine(await runMain({ VOLLY_API_PORT: String(taken.port) }));
    assert.match(msg, new RegExp(`^start-up failed: port ${taken.port} \\(VOLLY_API_PORT\\) is already in use`));
  });

  test("a VOLLY_HOST that does not resolve", async () => {
    const { code, msg } = fatalLine(await runMain({ VOLLY_HOST: "volly-no-such-host.invalid" }));
    assert.match(code ?? "", /^(ENOTFOUND|EAI_AGAIN|EAI_FAIL)$/);
    assert.match(msg, /^start-up failed: VOLLY_HOST="volly-no-such-host\.invalid" does not resolve to an address \(getaddrinfo /);
  });

  test("Redis not answering: its URL with the password redacted", async () => {
    const port = await freePort();
    const run = await runMain({ REDIS_URL: `redis://:hunter2@127.0.0.1:${port}` });
    const { msg } = fatalLine(run);
    assert.match(msg, new RegExp(`^start-up failed: Redis at redis://\\*\\*\\*@127\\.0\\.0\\.1:${port} did not answer`));
    assert.doesNotMatch(run.stdout, /hunter2/);
  });

  test("LOG_LEVEL=silent still says why, on stderr", async () => {
    const run = await runMain({ VOLLY_PORT: String(taken.port), LOG_LEVEL: "silent" });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, new RegExp(`^volly-signaling: start-up failed: port ${taken.port} \\(VOLLY_PORT\\) is already in use by another process \\(listen EADDRINUSE[^\\n]*\\)\\n$`));
  });

  test("LOG_LEVEL=debug adds the stack in a debug line before the fatal one", async () => {
    const run = await runMain({ VOLLY_PORT: String(taken.port), LOG_LEVEL: "debug" });
    assert.equal(run.code, 1);
    const entries = run.stdout.split("\n").filter((l) => l !== "").map(parseLine);
    const details = entries.find((e) => e?.msg === "start-up failure details");
    assert.match(JSON.stringify(details?.err), /"stack":"Error: listen EADDRINUSE/);
    assert.equal(entries.at(-1)?.level, "fatal");
  });
});
