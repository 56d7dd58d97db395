import type { Logger } from "pino";
import type { Bus } from "../bus/bus.js";
import { MemoryBus } from "../bus/memory-bus.js";
import { ClusterClock } from "../cluster/cluster-clock.js";
import type { RedisConfig } from "../config.js";
import { createMemoryStore } from "./memory-store.js";
import type { Store } from "./store.js";

/** The store and bus of this node, from one backend. */
export interface Backend {
  readonly store: Store;
  readonly bus: Bus;
  readonly kind: "memory" | "redis";
  /**
   * True when other nodes share this state (a cluster): a node that goes away then hands its
   * participants over (they resume elsewhere) instead of removing them.
   */
  readonly shared: boolean;
  /**
   * The deployment's clock (Redis's `TIME` with Redis, this host's wall clock in memory; anchored before the
   * backend is returned). `sync()` re-anchors it (the node does at every heartbeat): a memory node started
   * before NTP corrected its clock follows the correction, as a Redis node follows Redis's.
   */
  readonly clock: ClusterClock;
  close(): Promise<void>;
}

/** What a backend reports for metrics (command latency, connection up/down). */
export interface BackendObserver {
  command(name: string, seconds: number): void;
  up(isUp: boolean): void;
}

/**
 * The one place that chooses the backend: memory unless Redis is configured. A configured Redis that does
 * not answer fails start-up (never a silent fallback to memory). The Redis code is loaded only when used.
 */
export async function createBackend(redis: RedisConfig | undefined, log: Logger, observer?: BackendObserver): Promise<Backend> {
  if (redis === undefined) {
    const clock = ClusterClock.onWallClock();
    await clock.sync();
    const store = createMemoryStore(clock);
    const bus = new MemoryBus();
    log.info({ backend: "memory" }, "backend ready");
    return { store, bus, kind: "memory", shared: false, clock, close: async () => { await bus.close(); await store.close(); } };
  }
  const { createRedisBackend } = await import("../redis/redis-backend.js");
  return createRedisBackend(redis, log, observer);
}
