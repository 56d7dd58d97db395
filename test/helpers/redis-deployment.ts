// Redis servers and Sentinels of a test's own, as operators deploy them (replicas, TLS, Sentinel, ACL users,
// memory limits), on the ports set aside for them: servers 6421-6430, TLS 16421-16430, Sentinels 26421-26430.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis, type RedisOptions } from "ioredis";
import { sleep } from "./redis.js";

const FIRST_PORT = 6421;
const LAST_PORT = 6430;

export type RedisKind = "server" | "tls" | "sentinel" | "tls-sentinel";

/** A redis-server (or Sentinel) process with nothing on disk, killed by `stop`. */
export class OwnRedis {
  private constructor(private readonly child: ChildProcess, readonly port: number, private readonly dir: string, private output: string[]) {}

  /**
   * Starts one on the first free port of its kind's range. `args` are extra redis-server arguments; a TLS
   * server or Sentinel gets `--port 0 --tls-port <port>` and must be given its tls-* files in `args`, and
   * `clientOptions` the TLS options to reach it.
   */
  static async start(kind: RedisKind = "server", args: string[] = [], clientOptions: RedisOptions = {}, loading = false): Promise<OwnRedis> {
    const tls = kind === "tls" || kind === "tls-sentinel";
    const offset = kind === "tls" ? 10_000 : kind === "server" ? 0 : 20_000;
    for (let port = FIRST_PORT + offset; port <= LAST_PORT + offset; port++) {
      if (!(await portFree(port))) continue;
      const dir = mkdtempSync(join(tmpdir(), "volly-redis-"));
      const base = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no"];
      let argv: string[];
      if (kind === "sentinel" || kind === "tls-sentinel") {
        const conf = join(dir, "sentinel.conf");
        writeFileSync(conf, "");
        const ports = tls ? ["--port", "0", "--tls-port", String(port)] : ["--port", String(port)];
        argv = [conf, "--sentinel", ...ports, "--bind", "127.0.0.1", "--dir", dir, ...args];
      } else if (kind === "tls") {
        argv = ["--port", "0", "--tls-port", String(port), ...base, ...args];
      } else {
        argv = ["--port", String(port), ...base, ...args];
      }
      const child = spawn("redis-server", argv, { stdio: ["ignore", "pipe", "pipe"] });
      const output: string[] = [];
      child.stdout?.on("data", (d: Buffer) => output.push(d.toString()));
      child.stderr?.on("data", (d: Buffer) => output.push(d.toString()));
      const server = new OwnRedis(child, port, dir, output);
      if (await server.answers(tls ? clientOptions : {}, loading)) return server;
      await server.stop();
    }
    throw new Error(`no ${kind} Redis could start on ports ${FIRST_PORT + offset}-${LAST_PORT + offset}`);
  }

  /** Starts a server that will answer LOADING for a while (its dataset in `args`' --dir): returns once it answers at all. */
  static async startLoading(args: string[]): Promise<OwnRedis> {
    return OwnRedis.start("server", args, {}, true);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** What the process printed (for failure messages). */
  get log(): string {
    return this.output.join("").slice(-3000);
  }

  /** Runs one command on a fresh connection (options for TLS, a password). */
  async command(args: Array<string | number>, options: RedisOptions = {}): Promise<unknown> {
    const redis = new Redis({ host: "127.0.0.1", port: this.port, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null, ...options });
    redis.on("error", () => {});
    try {
      await redis.connect();
      return await redis.call(String(args[0]), ...args.slice(1).map(String));
    } finally {
      redis.disconnect();
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      this.child.kill("SIGKILL");
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async answers(options: RedisOptions, loading: boolean): Promise<boolean> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) return false;
      try {
        await this.command(["PING"], options);
        return true;
      } catch (e) {
        if (loading && e instanceof Error && /^LOADING/.test(e.message)) return true;
        await sleep(100);
      }
    }
    return false;
  }
}

/** Stops every one of `servers` that started (for `finally` blocks). */
export async function stopAll(servers: Array<OwnRedis | undefined>): Promise<void> {
  await Promise.all(servers.map((s) => s?.stop()));
}

/** Whether `port` can be bound on loopback right now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** The sample value of `volly_redis_up` on a node's API port, or undefined when absent or unreachable. */
export async function redisUpOf(apiUrl: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${apiUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    const line = /^volly_redis_up (\S+)$/m.exec(await res.text());
    return line ? Number(line[1]) : undefined;
  } catch {
    return undefined;
  }
}
