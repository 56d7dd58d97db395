import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import type { RedisConfig } from "../config.js";
import { errors } from "../errors.js";
import type { BackendObserver } from "../store/create-backend.js";
import { watchConnection } from "./redis-liveness.js";

const CONNECT_TIMEOUT_MS = 5000;
/** A command that gets no answer in this time fails (a stalled Redis must not stall the node). */
const COMMAND_TIMEOUT_MS = 3000;
/** Reconnect delays grow to this cap and never stop: a node must come back whenever Redis does. */
const MAX_RETRY_DELAY_MS = 1000;
/** How to stop watching each open connection (its liveness probes), for `closeQuietly`. */
const stopWatches = new WeakMap<Redis, () => void>();

/**
 * ioredis options for the node's connections. Commands fail fast while Redis is unreachable (no offline
 * queue, no retries of a lost command, a timeout on each), because a node keeps serving its local
 * connections and must not pile up work; reconnection never gives up. `rediss://` turns TLS on.
 */
export function redisOptions(config: RedisConfig, role: string): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(100 * times, MAX_RETRY_DELAY_MS),
    autoResubscribe: true,
    // Off: commands are written as they are issued, and `RedisContext` corks the socket for the rest of the
    // tick, so a tick's commands still go out as one write. Auto-pipelining did that by copying every
    // command of the tick into one new buffer, which for an enqueue batch (up to 256 KiB) was a large
    // allocation and copy per batch on top of the one ioredis makes of the command itself.
    enableAutoPipelining: false,
    connectionName: `volly-${role}`,
    ...(/^rediss:\/\//i.test(config.url) ? { tls: {} } : {}),
  };
}

/** The URL without credentials, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}

/**
 * Opens a connection and waits until Redis answers. Rejects with a message naming the (redacted) URL
 * and the cause when it does not; the connection is closed then.
 */
export async function connectRedis(config: RedisConfig, role: string, log: Logger, observer?: BackendObserver): Promise<Redis> {
  const redis = new Redis(config.url, redisOptions(config, role));
  await openConnection(redis, config, log, role, observer);
  return redis;
}

/** A second connection with the same options (the bus's subscriber). */
export async function duplicateConnection(redis: Redis, config: RedisConfig, role: string, log: Logger, observer?: BackendObserver): Promise<Redis> {
  const copy = redis.duplicate({ connectionName: `volly-${role}` });
  await openConnection(copy, config, log, role, observer);
  return copy;
}

async function openConnection(redis: Redis, config: RedisConfig, log: Logger, role: string, observer: BackendObserver | undefined): Promise<void> {
  let lastError: Error | undefined;
  const onStartupError = (e: Error) => {
    lastError = e;
  };
  redis.on("error", onStartupError);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      }),
    ]);
  } catch (e) {
    redis.disconnect();
    const cause = lastError?.message ?? (e instanceof Error ? e.message : String(e));
    throw new Error(`Redis at ${redactUrl(config.url)} did not answer (${cause}); check REDIS_URL or REDIS_HOST/REDIS_PORT/REDIS_PASSWORD`);
  } finally {
    clearTimeout(timer);
    redis.off("error", onStartupError);
  }
  stopWatches.set(redis, watchConnection(redis, log.child({ redis: role }), observer));
}

/** Closes a connection on purpose: waits for pending replies, and logs nothing about it. */
export async function closeQuietly(redis: Redis): Promise<void> {
  stopWatches.get(redis)?.();
  redis.removeAllListeners("close");
  redis.removeAllListeners("ready");
  redis.removeAllListeners("error");
  redis.on("error", () => {});
  await redis.quit().catch(() => redis.disconnect());
}

/**
 * The error a store call rethrows: connection problems (down, loading, failover) become the catalogue's
 * `store_unavailable`, so clients get `unavailable` and can retry; a command that was sent and not answered
 * in time is `store_timeout` (it may still run); anything else (a script bug) passes unchanged.
 */
export function toStoreError(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  // ioredis's `commandTimeout` wording: the command was written to Redis, which may yet run it.
  if (e.message === "Command timed out") return errors.storeTimeout();
  const transient = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN)/.test(e.message);
  if (e.name === "ReplyError" && !transient) return e;
  return errors.storeUnavailable();
}
