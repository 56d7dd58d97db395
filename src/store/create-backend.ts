import type { Logger } from "pino";
import type { Bus } from "../bus/bus.js";
import { MemoryBus } from "../bus/memory-bus.js";
import type { RedisConfig } from "../config.js";
import { createMemoryStore } from "./memory-store.js";
import type { Store } from "./store.js";

/** The store and bus of this node, from one backend. */
export interface Backend {
  readonly store: Store;
  readonly bus: Bus;
  readonly kind: "memory" | "redis";
  close(): Promise<void>;
}

/**
 * The one place that chooses the backend: memory unless Redis is configured. A configured Redis that does
 * not answer fails start-up (never a silent fallback to memory). The Redis code is loaded only when used.
 */
export async function createBackend(redis: RedisConfig | undefined, log: Logger): Promise<Backend> {
  if (redis === undefined) {
    const store = createMemoryStore();
    const bus = new MemoryBus();
    log.info({ backend: "memory" }, "backend ready");
    return { store, bus, kind: "memory", close: async () => { await bus.close(); await store.close(); } };
  }
  // The Redis backend lands with issue #4; until then a configured Redis must not silently run in memory.
  throw new Error(`REDIS_URL is set (${redis.url.replace(/\/\/[^@]*@/, "//***@")}) but this build has no Redis backend yet`);
}
