import { freePort, freePorts, httpReady, startPinned, startPinnedRedis, VOLLY_ENTRY, type ServerProcess } from "./lib/server-process.js";

/** A running target: its node processes (all on the server core) and how the generator reaches them. */
export interface RunningTarget {
  readonly name: TargetName;
  readonly kind: "bare" | "peerjs" | "volly";
  readonly pq: boolean;
  readonly ports: number[];
  readonly pids: number[];
  stop(): Promise<void>;
}

export type TargetName = "bare-ws-relay" | "peerjs" | "volly-plain" | "volly-pq" | "volly-pq-redis-2-nodes";
export const TARGETS: TargetName[] = ["bare-ws-relay", "peerjs", "volly-plain", "volly-pq", "volly-pq-redis-2-nodes"];

export const SERVER_CORE = 0;
// BENCH_NODE_FLAGS adds flags to every target's node (`--cpu-prof --cpu-prof-dir=/tmp/p` to profile them;
// NODE_OPTIONS does not take --cpu-prof). A profiled run's figures are not comparable with others.
const NODE = ["node", ...(process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter((f) => f !== "")];
// The bench's own servers are TypeScript; Volly runs compiled, as in production (bench/run.ts builds it first).
const TSX = [...NODE, "--import", "tsx"];

/** Settings that take Volly's limits out of the way of a saturation test (documented in docs/benchmarks.md). */
export const VOLLY_BENCH_ENV = {
  VOLLY_HOST: "127.0.0.1",
  LOG_LEVEL: "warn",
  VOLLY_MAX_MESSAGES_PER_SECOND: "1000000",
  VOLLY_MESSAGE_BURST: "1000000",
  VOLLY_MAX_PARTICIPANTS: "1000",
  VOLLY_MAX_CONNECTIONS: "100000",
  VOLLY_MAX_CONNECTIONS_PER_IP: "100000",
  VOLLY_PING_TIMEOUT: "120",
};

export async function startTarget(name: TargetName): Promise<RunningTarget> {
  switch (name) {
    case "bare-ws-relay":
      return single(name, "bare", false, await bare());
    case "peerjs":
      return single(name, "peerjs", false, await peerjs());
    case "volly-plain":
      return single(name, "volly", false, await volly({ VOLLY_PQ_ENABLED: "false" }));
    case "volly-pq":
      return single(name, "volly", true, await volly({}));
    case "volly-pq-redis-2-nodes":
      return redisCluster();
  }
}

function single(name: TargetName, kind: RunningTarget["kind"], pq: boolean, p: ServerProcess): RunningTarget {
  return { name, kind, pq, ports: [p.port], pids: [p.pid], stop: () => p.stop() };
}

async function bare(): Promise<ServerProcess> {
  const port = await freePort();
  return startPinned(SERVER_CORE, [...TSX, "bench/targets/bare-relay.ts", String(port)], {}, port, async (_c, out) => out().includes("ready"));
}

async function peerjs(): Promise<ServerProcess> {
  const port = await freePort();
  return startPinned(SERVER_CORE, [...TSX, "bench/targets/peerjs-server.ts", String(port)], {}, port, async (_c, out) => out().includes("ready"));
}

async function volly(env: Record<string, string>): Promise<ServerProcess> {
  const [port = 0, apiPort = 0] = await freePorts(2);
  return startPinned(SERVER_CORE, [...NODE, VOLLY_ENTRY], { ...VOLLY_BENCH_ENV, VOLLY_PORT: String(port), VOLLY_API_PORT: String(apiPort), ...env }, port,
    () => httpReady(`http://127.0.0.1:${port}/healthz`));
}

async function redisCluster(): Promise<RunningTarget> {
  const redis = await startPinnedRedis(SERVER_CORE);
  const env = { REDIS_URL: `redis://127.0.0.1:${redis.port}`, REDIS_PREFIX: "bench:" };
  try {
    const a = await volly({ ...env, VOLLY_NODE_ID: "bench-a" });
    const b = await volly({ ...env, VOLLY_NODE_ID: "bench-b" });
    return {
      name: "volly-pq-redis-2-nodes", kind: "volly", pq: true,
      ports: [a.port, b.port],
      pids: [a.pid, b.pid, redis.pid],
      stop: async () => {
        await Promise.all([a.stop(), b.stop()]);
        await redis.stop();
      },
    };
  } catch (e) {
    await redis.stop();
    throw e;
  }
}
