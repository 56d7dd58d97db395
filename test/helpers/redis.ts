import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:net";
import { Redis } from "ioredis";

/** The shared Redis the Redis suites use: REDIS_URL, or the CI service on 127.0.0.1:6379. */
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** Why Redis at `url` cannot be used, or undefined when it answers PING. */
export async function probeRedis(url: string = REDIS_URL): Promise<string | undefined> {
  const redis = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
  let lastError: string | undefined;
  redis.on("error", (e: Error) => (lastError = e.message));
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (e) {
    return lastError ?? (e instanceof Error ? e.message : String(e));
  } finally {
    redis.disconnect();
  }
}

/**
 * The `skip` option of a Redis suite: a visible reason when Redis is unreachable, false when it answers.
 * With VOLLY_REQUIRE_REDIS=1 an unreachable Redis is not skipped: the suite runs and `requireRedis` fails it.
 */
export async function redisSkip(url: string = REDIS_URL): Promise<string | false> {
  const problem = await probeRedis(url);
  if (problem === undefined || process.env.VOLLY_REQUIRE_REDIS === "1") return false;
  return `Redis not reachable at ${url}: ${problem} (set VOLLY_REQUIRE_REDIS=1 to fail instead)`;
}

/**
 * The `skip` option of a suite that runs Redis servers of its own: a visible reason when `redis-server`
 * cannot run here (not with VOLLY_REQUIRE_REDIS=1: then the suite runs and fails).
 */
export function redisServerSkip(): string | false {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (probe.status === 0 || process.env.VOLLY_REQUIRE_REDIS === "1") return false;
  return `redis-server cannot run here: ${probe.error?.message ?? probe.stderr.trim()} (set VOLLY_REQUIRE_REDIS=1 to fail instead)`;
}

/** Throws when Redis does not answer (for `before` hooks of suites that must not be skipped). */
export async function requireRedis(url: string = REDIS_URL): Promise<void> {
  const problem = await probeRedis(url);
  if (problem !== undefined) throw new Error(`Redis not reachable at ${url}: ${problem} (VOLLY_REQUIRE_REDIS=1)`);
}

/** A key prefix no other test (or agent) uses. */
export function uniquePrefix(tag: string): string {
  return `volly-test:${tag}:${process.pid}-${randomBytes(4).toString("hex")}:`;
}

/** Every key under `prefix` (binary-safe names as strings). */
export async function keysUnder(url: string, prefix: string): Promise<string[]> {
  const redis = quietClient(url);
  try {
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await redis.scan(cursor, "MATCH", `${escapeGlob(prefix)}*`, "COUNT", 500);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== "0");
    return keys;
  } finally {
    redis.disconnect();
  }
}

/** Deletes every key under `prefix` (each test cleans up after itself). */
export async function deletePrefix(url: string, prefix: string): Promise<void> {
  const keys = await keysUnder(url, prefix).catch(() => []);
  if (keys.length === 0) return;
  const redis = quietClient(url);
  try {
    for (let i = 0; i < keys.length; i += 500) await redis.unlink(...keys.slice(i, i + 500));
  } finally {
    redis.disconnect();
  }
}

/** Runs `fn` with a plain connection to `url`. */
export async function withRedis<T>(url: string, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = quietClient(url);
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

/** A connection for test code: fails (rather than waits) when Redis is down, and never crashes on it. */
export function quietClient(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy: (n) => (n > 3 ? null : 100) });
  redis.on("error", () => {});
  return redis;
}

/** A free TCP port on loopback (bind, read, release). */
export async function freePort(): Promise<number> {
  const [port = 0] = await freePorts(1);
  return port;
}

/**
 * `count` distinct free loopback ports, all held until all are picked: picked one after another, each
 * freed before the next, the kernel can hand the same port out twice (a node then refused to start with
 * VOLLY_PORT = VOLLY_API_PORT).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<Server>((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  })));
  const ports = servers.map((server) => {
    const address = server.address();
    return typeof address === "object" && address ? address.port : 0;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/**
 * A `redis-server` of the test's own, with nothing on disk (`--save "" --appendonly no`), so stopping
 * and starting it again loses every key, like the CI Redis restarting.
 */
export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * Starts one on a free port: by default any, or with VOLLY_TEST_REDIS_PORTS=<first>-<last> the first free
   * one of that range (for a machine where only some ports may be used).
   */
  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await redisPort());
    await server.start();
    return server;
  }

  /** Starts (again) on the same port and waits until it answers. */
  async start(): Promise<void> {
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"];
    const child = spawn("redis-server", args, { stdio: "ignore" });
    this.child = child;
    let failure: Error | undefined;
    child.once("error", (e) => (failure = e));
    const deadline = Date.now() + 10_000;
    while ((await probeRedis(this.url)) !== undefined) {
      if (failure) throw new Error(`cannot run redis-server: ${failure.message}`);
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start`);
      await sleep(50);
    }
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing answers, the data is kept. */
  pause(): void {
    this.child?.kill("SIGSTOP");
  }

  /** Thaws a paused server (SIGCONT). */
  unpause(): void {
    this.child?.kill("SIGCONT");
  }

  /** Kills the server (SIGKILL: no goodbye to clients) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGCONT");
    child.kill("SIGKILL");
    await exited;
  }
}

/** A port for a test's own redis-server (see `RedisServer.start`). */
async function redisPort(): Promise<number> {
  const range = process.env.VOLLY_TEST_REDIS_PORTS;
  if (range === undefined || range === "") return freePort();
  const match = /^(\d+)-(\d+)$/.exec(range);
  if (!match) throw new Error(`VOLLY_TEST_REDIS_PORTS must be <first>-<last>, got ${JSON.stringify(range)}`);
  for (let port = Number(match[1]); port <= Number(match[2]); port++) {
    if (await portFree(port)) return port;
  }
  throw new Error(`no free port in VOLLY_TEST_REDIS_PORTS=${range}`);
}

/** Whether `port` can be bound on loopback right now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, "\\$&");
}
