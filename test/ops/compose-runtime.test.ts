// The Compose development stack without Docker: volly-redis's own command (password from REDIS_PASSWORD) runs
// on a local redis-server, the bin runs with exactly the environment Compose resolves for volly-signaling
// (only the Redis host/port and listen ports changed), a PQ client joins, and the seed's inspection commands
// (`redis-cli` with no password flag, `KEYS "session:*"`, `HGETALL`) show the session.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { TestClient } from "../helpers/signal-client.js";
import { startBinServer, type BinServer } from "./helpers/bin-process.js";
import { composeConfig, serviceEnv, type ComposeConfig } from "./helpers/compose.js";
import { hasCommand, run, skipUnless } from "./helpers/required-tools.js";
import { freePort } from "../helpers/redis.js";

const skip =
  skipUnless(hasCommand("docker-compose", ["version"]), "docker-compose", "docker-compose") ||
  skipUnless(hasCommand("redis-server", ["--version"]) && hasCommand("redis-cli", ["--version"]), "redis-server", "redis-server");
const PASSWORD = "dev p@ss:w/rd?#1";

describe("compose dev stack, run without Docker", { skip }, () => {
  let config: ComposeConfig;
  let redis: ChildProcess;
  let redisPort: number;
  let dataDir: string;
  let server: BinServer;
  let redisEnv: Record<string, string>;
  const cli = (...args: string[]) => run("redis-cli", ["-p", String(redisPort), ...args], { env: { PATH: process.env.PATH, ...redisEnv } });

  before(async () => {
    const resolved = composeConfig(["-f", "docker-compose.signaling.yml"], { REDIS_PASSWORD: PASSWORD });
    assert.equal(resolved.status, 0, resolved.stderr);
    config = resolved.config as ComposeConfig;
    const service = config.services["volly-redis"];
    const command = service?.command;
    assert.ok(Array.isArray(command) && command[0] === "sh" && command[1] === "-c", "volly-redis runs a shell command");
    redisEnv = serviceEnv(service);
    redisPort = await freePort();
    dataDir = mkdtempSync(join(tmpdir(), "volly-redis-"));
    // Compose hands "$$" to the container as "$"; then the container's shell expands the variable.
    const script = `${String(command[2]).replaceAll("$$", "$")} --port ${redisPort} --bind 127.0.0.1 --dir ${dataDir}`;
    redis = spawn("sh", ["-c", script], { env: { PATH: process.env.PATH, ...redisEnv }, stdio: "ignore" });
    for (let i = 0; cli("ping").stdout.trim() !== "PONG"; i++) {
      if (i > 100) throw new Error("redis-server did not start");
      await new Promise((r) => setTimeout(r, 50));
    }
    server = await startBinServer({
      ...serviceEnv(config.services["volly-signaling"]),
      REDIS_HOST: "127.0.0.1",
      REDIS_PORT: String(redisPort),
      VOLLY_HOST: "127.0.0.1",
      VOLLY_PORT: "0",
      VOLLY_API_PORT: "0",
    });
  });

  after(async () => {
    if (server && server.child.exitCode === null) await server.stop();
    if (redis && redis.exitCode === null) {
      const exited = new Promise((resolve) => redis.once("exit", resolve));
      // NOSAVE: with appendonly on, a SIGTERM'd Redis refuses to exit when its final write fails.
      cli("SHUTDOWN", "NOSAVE");
      const timer = setTimeout(() => redis.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test("Redis refuses clients without the password; redis-cli in the container needs no flag (REDISCLI_AUTH)", () => {
    const anonymous = run("redis-cli", ["-p", String(redisPort), "ping"], { env: { PATH: process.env.PATH } });
    assert.match(anonymous.stdout + anonymous.stderr, /NOAUTH/);
    assert.equal(cli("ping").stdout.trim(), "PONG");
  });

  test("the server runs on Redis with the compose environment: /healthz, redis up, a PQ session in session:*", async () => {
    assert.ok(server.lines.some((l) => l.includes('"backend":"redis"')), "Redis backend in use");
    const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    assert.deepEqual(await health.json(), { status: "ok" });
    const client = await TestClient.connect({ kind: "ws-protobuf", port: server.port, identity: "compose-alice", room: "compose-room", pq: "ML-KEM-768" });
    const keys = cli("KEYS", "session:*").stdout.trim().split("\n").filter((k) => k !== "");
    assert.equal(keys.length, 1, `KEYS "session:*" → ${keys.join(", ")}`);
    const hash = cli("HGETALL", keys[0] ?? "").stdout;
    assert.match(hash, /compose-alice/);
    assert.match(hash, /compose-room/);
    assert.match(hash, /ML-KEM-768/);
    const stats = (await (await fetch(`http://127.0.0.1:${server.apiPort}/volly/sessions/stats`)).json()) as { active_sessions: number; total_sessions: number };
    assert.deepEqual([stats.active_sessions, stats.total_sessions], [1, 1]);
    const metrics = await (await fetch(`http://127.0.0.1:${server.apiPort}/metrics`)).text();
    assert.match(metrics, /^volly_redis_up 1$/m);
    await client.leave();
  });
});
