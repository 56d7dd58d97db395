import type { Logger } from "pino";
import type { RedisConfig } from "../config.js";
import type { Backend, BackendObserver } from "../store/create-backend.js";
import { checkEvictionPolicy } from "./eviction-policy.js";
import { RedisBus } from "./redis-bus.js";
import { connectRedis, duplicateConnection, redactUrl } from "./redis-connection.js";
import { RedisKeys } from "./redis-keys.js";
import { createRedisStore } from "./redis-store.js";

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
  await checkEvictionPolicy(commands, log);
  const keys = new RedisKeys(config.prefix);
  const store = createRedisStore(commands, keys, observer);
  const bus = new RedisBus(commands, subscriber, keys, log);
  log.info({ backend: "redis", url: redactUrl(config.url), prefix: config.prefix }, "backend ready");
  return {
    store,
    bus,
    kind: "redis",
    shared: true,
    close: async () => {
      await bus.close();
      await store.close();
    },
  };
}
