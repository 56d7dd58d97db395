import { readFileSync } from "node:fs";
import { rootCertificates, type ConnectionOptions } from "node:tls";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import type { RedisConfig, RedisSentinelConfig } from "../config.js";
import { errors } from "../errors.js";
import type { BackendObserver } from "../store/create-backend.js";
import { watchConnection, type Probe } from "./redis-liveness.js";
import { loadScripts } from "./lua-script.js";
import { replyErrorWatcher, serverRole, SERVER_STATE_ERROR } from "./redis-role.js";

const CONNECT_TIMEOUT_MS = 5000;
/** A command that gets no answer in this time fails (a stalled Redis must not stall the node). */
const COMMAND_TIMEOUT_MS = 3000;
/** Reconnect delays grow to this cap and never stop: a node must come back whenever Redis does. */
const MAX_RETRY_DELAY_MS = 1000;
/** How long start-up waits for a Redis that is loading its dataset (it answers LOADING meanwhile). */
const LOADING_WAIT_MS = 60_000;
/** How to stop watching each open connection (its liveness probes), for `closeQuietly`. */
const stopWatches = new WeakMap<Redis, () => void>();

/**
 * ioredis options for the node's connections. Commands fail fast while Redis is unreachable (no offline
 * queue, no retries of a lost command, a timeout on each), because a node keeps serving its local
 * connections and must not pile up work; reconnection never gives up. `rediss://` (or REDIS_TLS_* files)
 * turns TLS on; REDIS_SENTINELS asks Sentinel for the primary instead of naming it.
 */
export function redisOptions(config: RedisConfig, role: string): RedisOptions {
  const tls = tlsOptions(config);
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
    connectionName: connectionName(config, role),
    // Off: its INFO is `@dangerous`, refused to the usual restricted ACL user, and ioredis then prints a
    // plain-text warning on stderr, which breaks JSON log pipelines. Its one use, waiting while Redis loads
    // its dataset, is done by `waitUntilLoaded` at start-up; later, LOADING is a retryable store error.
    enableReadyCheck: false,
    // A failover demotes the primary: on READONLY, reconnect (see `replyErrorWatcher`, which replaces this
    // one with one that also logs).
    reconnectOnError: (e) => (/^READONLY/.test(e.message) ? 1 : false),
    ...(tls === undefined ? {} : { tls }),
    ...(config.sentinel === undefined ? {} : sentinelOptions(config.sentinel, tls)),
  };
}

/** `volly-<node id>-<role>`: `CLIENT LIST` tells apart the nodes sharing a Redis, and `CLIENT KILL` can pick one. */
function connectionName(config: RedisConfig, role: string): string {
  return config.nodeId === undefined ? `volly-${role}` : `volly-${config.nodeId}-${role}`;
}

/** TLS for `rediss://` (or any REDIS_TLS_* file): the system CAs and NODE_EXTRA_CA_CERTS, plus the files given. */
function tlsOptions(config: RedisConfig): ConnectionOptions | undefined {
  if (config.tls === undefined && !/^rediss:\/\//i.test(config.url)) return undefined;
  const { caFile, certFile, keyFile } = config.tls ?? {};
  return {
    // A CA given replaces Node's list for this connection, so the private CA is added to it, not put in its place.
    ...(caFile === undefined ? {} : { ca: [...rootCertificates, readFileSync(caFile, "utf8")] }),
    ...(certFile === undefined ? {} : { cert: readFileSync(certFile) }),
    ...(keyFile === undefined ? {} : { key: readFileSync(keyFile) }),
  };
}

/** Sentinel: the Sentinels are asked for the current primary on every (re)connect. */
function sentinelOptions(sentinel: RedisSentinelConfig, tls: ConnectionOptions | undefined): RedisOptions {
  return {
    sentinels: sentinel.sentinels.map((s) => ({ host: s.host, port: s.port })),
    name: sentinel.name,
    role: "master",
    ...(sentinel.password === undefined ? {} : { password: sentinel.password }),
    ...(sentinel.sentinelPassword === undefined ? {} : { sentinelPassword: sentinel.sentinelPassword }),
    // Sentinels are asked without retries of their own: the connection's `retryStrategy` tries again.
    sentinelRetryStrategy: () => null,
    // With TLS, Sentinels and servers alike are reached over TLS, with the same files.
    ...(tls === undefined ? {} : { enableTLSForSentinelMode: true, sentinelTLS: tls }),
  };
}

/**
 * The URL without credentials, for messages and logs. Everything between `//` and the last `@` goes: a
 * password may hold a raw `@` (ioredis accepts it), and only the last one ends the user information. An
 * `@` later in the URL (none belongs there) would hide the host too, which is the safe way to be wrong.
 */
export function redactUrl(url: string): string {
  const start = url.indexOf("//");
  const at = url.lastIndexOf("@");
  if (start < 0 || at < start) return url;
  return `${url.slice(0, start + 2)}***${url.slice(at)}`;
}

/**
 * Opens a connection and waits until Redis answers. Rejects with a message naming the (redacted) URL
 * and the cause when it does not; the connection is closed then.
 */
export async function connectRedis(config: RedisConfig, role: string, log: Logger, observer?: BackendObserver): Promise<Redis> {
  const options = { ...redisOptions(config, role), reconnectOnError: replyErrorWatcher(log.child({ redis: role })) };
  const redis = config.sentinel === undefined ? new Redis(config.url, options) : new Redis(options);
  await openConnection(redis, config, log, role, observer);
  // Before the connection's first script call, and again on every reconnection (see loadScripts).
  redis.on("ready", () => void loadScripts(redis).catch(() => undefined));
  try {
    await waitUntilLoaded(redis, log);
    await refuseReplica(redis, config);
    await loadScripts(redis).catch(() => undefined);
  } catch (e) {
    await closeQuietly(redis);
    throw e;
  }
  return redis;
}

/**
 * A second connection with the same options (the bus's subscriber). It is probed with PING, which a
 * subscribed connection may send, so that a dead one is reconnected too (see `watchConnection`).
 */
export async function duplicateConnection(redis: Redis, config: RedisConfig, role: string, log: Logger): Promise<Redis> {
  const copy = redis.duplicate({ connectionName: connectionName(config, role), reconnectOnError: replyErrorWatcher(log.child({ redis: role })) });
  await openConnection(copy, config, log, role, undefined, async (r) => {
    await r.ping();
  });
  return copy;
}

async function openConnection(
  redis: Redis,
  config: RedisConfig,
  log: Logger,
  role: string,
  observer: BackendObserver | undefined,
  probe?: Probe,
): Promise<void> {
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
    const cause = (lastError?.message ?? (e instanceof Error ? e.message : String(e))).trim();
    throw new Error(`Redis at ${redactUrl(config.url)} did not answer (${cause}); check ${config.sentinel === undefined ? "REDIS_URL or REDIS_HOST/REDIS_PORT/REDIS_PASSWORD" : "REDIS_SENTINELS, REDIS_SENTINEL_NAME and REDIS_PASSWORD"}${tlsHint(config, cause)}`);
  } finally {
    clearTimeout(timer);
    redis.off("error", onStartupError);
  }
  stopWatches.set(redis, watchConnection(redis, log.child({ redis: role }), observer, probe));
}

/**
 * Waits while Redis answers LOADING (it is reading its dataset after a restart), up to `LOADING_WAIT_MS`:
 * the node would otherwise start with every write refused. ioredis's ready check did this with INFO.
 */
async function waitUntilLoaded(redis: Redis, log: Logger): Promise<void> {
  const deadline = performance.now() + LOADING_WAIT_MS;
  let said = false;
  for (;;) {
    try {
      await redis.ping();
      return;
    } catch (e) {
      if (!(e instanceof Error && /^LOADING/.test(e.message)) || performance.now() > deadline) throw e;
      if (!said) log.warn({ err: e.message }, "redis is loading its dataset; waiting until it is done");
      said = true;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Start-up against a replica (a stale URL or DNS name after a failover) fails, saying so. */
async function refuseReplica(redis: Redis, config: RedisConfig): Promise<void> {
  const role = await serverRole(redis);
  if (role === undefined || role === "master") return;
  throw new Error(`Redis at ${redactUrl(config.url)} is a read-only replica (role ${role}), where every write is refused (READONLY); point REDIS_URL at the primary, or use REDIS_SENTINELS`);
}

/** A hint for the causes a TLS mismatch gives, which do not say TLS themselves. */
function tlsHint(config: RedisConfig, cause: string): string {
  const tls = /^rediss:\/\//i.test(config.url) || config.tls !== undefined;
  if (!/ECONNRESET|no answer within|socket hang up|certificate required/.test(cause)) return "";
  return tls
    ? "; with TLS: does the server speak TLS on this port, and does it require a client certificate (REDIS_TLS_CERT_FILE/REDIS_TLS_KEY_FILE)?"
    : "; if the server speaks TLS on this port, use rediss://";
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
 * `store_unavailable`, so clients get `unavailable` and can retry (a Redis out of memory under `noeviction`
 * too: it refuses writes until memory is freed, and nothing is wrong with the request); a command that was sent and not answered
 * in time is `store_timeout` (it may still run); anything else (a script bug) passes unchanged.
 */
export function toStoreError(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  // ioredis's `commandTimeout` wording: the command was written to Redis, which may yet run it.
  if (e.message === "Command timed out") return errors.storeTimeout();
  const transient = SERVER_STATE_ERROR.test(e.message);
  if (e.name === "ReplyError" && !transient) return e;
  return errors.storeUnavailable();
}
