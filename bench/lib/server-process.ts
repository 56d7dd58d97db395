import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/** A server under test, running in its own process pinned to one core. */
export interface ServerProcess {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

/** The server as production runs it (`npm start`, the image): compiled into dist/server by scripts/build-server.mjs. */
export const VOLLY_ENTRY = "dist/server/main.js";

/** Builds dist/server from src/ (a few hundred ms), so a benchmark never measures code older than the sources. */
export function buildServer(): void {
  execFileSync(process.execPath, ["scripts/build-server.mjs"], { stdio: ["ignore", "ignore", "inherit"] });
}

/** A free loopback TCP port (bind to 0, read it, release it). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port ?? 0;
}

/**
 * `count` distinct free ports: all are held open until every one is picked, since a port closed at once
 * may be handed out again by the next bind (a node then refused VOLLY_PORT = VOLLY_API_PORT).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => resolve(s));
  })));
  const ports = servers.map((s) => {
    const address = s.address();
    return typeof address === "object" && address !== null ? address.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** Spawns `args` under `taskset -c <core>` and waits until `ready()` resolves true. */
export async function startPinned(
  core: number,
  args: string[],
  env: Record<string, string>,
  port: number,
  ready: (child: ChildProcess, output: () => string) => Promise<boolean>,
): Promise<ServerProcess> {
  const child = spawn("taskset", ["-c", String(core), ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.stderr?.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  const deadline = Date.now() + 30_000;
  while (!(await ready(child, () => output))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${args.join(" ")} did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid as number,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        // A profiled target (BENCH_NODE_FLAGS) writes its profile only when it exits by itself: ask first.
        if (process.env.BENCH_NODE_FLAGS) {
          child.kill("SIGTERM");
          setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
        } else child.kill("SIGKILL");
      }),
  };
}

/** Resolves true once an HTTP GET of `url` answers 200. */
export async function httpReady(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).status === 200;
  } catch {
    return false;
  }
}

/** A throwaway `redis-server` on a free loopback port, pinned to `core`, keeping nothing on disk. */
export async function startPinnedRedis(core: number): Promise<ServerProcess> {
  const port = await freePort();
  const args = ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  return startPinned(core, args, {}, port, async (_child, output) => output().includes("Ready to accept connections"));
}
