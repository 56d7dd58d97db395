import type { Redis } from "ioredis";
import type { Logger } from "pino";

/**
 * Redis's own words for a command it refused while it is up: it is a replica (READONLY), out of memory
 * under `noeviction` (OOM), loading its dataset, busy with a script, cannot persist (MISCONF), and so on.
 * These are states of the server, not bugs of the caller, so they become `store_unavailable` (retryable)
 * and their text is logged, once per episode, so an operator sees the cause.
 */
export const SERVER_STATE_ERROR = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|OOM|MISCONF|NOREPLICAS)\b/;
/** What is logged: the server states, and NOPERM (an ACL user without a permission the node needs). */
const LOGGED_ERROR = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|OOM|MISCONF|NOREPLICAS|NOPERM)\b/;

/** A server-state error kind seen again after this long is a new episode and is logged again. */
const EPISODE_GAP_MS = 60_000;

/** The primary's role, as HELLO and ROLE name it. */
const PRIMARY = "master";

/** Raised by `pingPrimary` when Redis answers but is a replica: every write would be refused. */
export class ReadOnlyReplicaError extends Error {
  constructor(role: string) {
    super(`Redis is a read-only replica (role ${role}): writes are refused (READONLY) until it is a primary again`);
    this.name = "ReadOnlyReplicaError";
  }
}

/**
 * The role Redis reports (`master` or `replica`), or undefined when it does not say. HELLO without
 * arguments (Redis 6.2 or later) answers it without changing the connection: unlike ROLE and INFO it is
 * in `@connection`, not `@dangerous`, so a restricted ACL user may run it, and it needs no key, so it works
 * under any key pattern. A Redis that refuses HELLO (6.0) is taken as a primary: PING alone decides then.
 */
export async function serverRole(redis: Redis): Promise<string | undefined> {
  let reply: unknown;
  try {
    reply = await redis.call("HELLO");
  } catch (e) {
    if (e instanceof Error && e.name === "ReplyError" && !SERVER_STATE_ERROR.test(e.message)) return undefined;
    throw e;
  }
  if (!Array.isArray(reply)) return undefined;
  const i = reply.indexOf("role");
  const role: unknown = i < 0 ? undefined : reply[i + 1];
  return typeof role === "string" ? role : undefined;
}

/**
 * Resolves when Redis answers and accepts writes. PING alone is answered by a replica, which refuses every
 * write: after a failover that demoted the Redis a node's URL names, the node would look healthy while
 * failing every request, so the role is asked too (cheap, and true before any write has failed).
 * `replied` is called when PING is answered: the connection carries replies, whatever the role turns out to be.
 */
export async function pingPrimary(redis: Redis, replied: () => void = () => {}): Promise<void> {
  await redis.ping();
  replied();
  const role = await serverRole(redis);
  if (role !== undefined && role !== PRIMARY) throw new ReadOnlyReplicaError(role);
}

/**
 * ioredis's `reconnectOnError`, which sees every error reply: logs each server-state error kind once per
 * episode with Redis's own text, and reconnects on READONLY. A Redis that answers READONLY was demoted by a
 * failover; a URL that names a proxy or a DNS name that moves with the primary reaches the new primary
 * only on a new connection. The failed command is not sent again (1, not 2): with the offline queue off it
 * would be refused during the reconnect anyway, and the caller gets `store_unavailable`, which is retryable.
 */
export function replyErrorWatcher(log: Logger): (e: Error) => 1 | false {
  const lastSeen = new Map<string, number>();
  return (e) => {
    const kind = LOGGED_ERROR.exec(e.message)?.[1];
    if (kind === undefined) return false;
    const now = performance.now();
    const last = lastSeen.get(kind);
    lastSeen.set(kind, now);
    if (last === undefined || now - last > EPISODE_GAP_MS) {
      log.warn({ redisError: kind, err: e.message.slice(0, 300) }, `redis refused a command: ${kind}${kind === "READONLY" ? " (it is a replica; reconnecting to find the primary)" : ""}`);
    }
    return kind === "READONLY" ? 1 : false;
  };
}
