import type { Logger } from "pino";
import { ClusterClock } from "../cluster/cluster-clock.js";
import type { RedisConfig } from "../config.js";
import type { Backend, BackendObserver } from "../store/create-backend.js";
import { checkEvictionPolicy } from "./eviction-policy.js";
import { RedisBus } from "./redis-bus.js";
import { connectRedis, duplicateConnection, redactUrl } from "./redis-connection.js";
import { RedisKeys } from "./redis-keys.js";
import { createRedisStore } from "./redis-store.js";
import { redisTimeSource } from "./redis-time.js";

/**
 * The Redis backend: a command connection (store and publishes) and a subscriber connection (bus).
 * Rejects, with the redacted URL and the cause, when Redis does not answer at start-up.
 */
export async function createRedisBackend(config: RedisConfig, log: Logger, observer?: BackendObserver): Promise<Backend> {
  const commands = await connectRedis(config, "store", log, observer);
  let subscriber;
  try {
    subscriber = await duplicateConnection(commands, config, "bus", log);
  } catch (e) {
    commands.disconnect();
    throw e;
  }
  const clock = new ClusterClock(redisTimeSource(commands, log));
  try {
    await checkEvictionPolicy(commands, log);
    // Before the node serves: everything it stores or judges against the store is on Redis's clock.
    const moved = await clock.sync();
    log.info({ offsetFromLocalClockMs: Math.round(moved) }, "cluster clock anchored to redis TIME");
  } catch (e) {
    commands.disconnect();
    subscriber.disconnect();
    throw e;
  }
  const keys = new RedisKeys(config.prefix);
  const store = createRedisStore(commands, keys, clock, observer);
  const bus = new RedisBus(commands, subscriber, keys, log);
  log.info({ backend: "redis", url: redactUrl(config.url), prefix: config.prefix }, "backend ready");
  return {
    store,
    bus,
    kind: "redis",
    shared: true,
    clock,
    close: async () => {
      await bus.close();
      await store.close();
    },
  };
}
