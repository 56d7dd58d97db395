import type { Redis } from "ioredis";
import type { Logger } from "pino";

/**
 * Checks at start-up that Redis never evicts: every key the nodes write is state, none a cache. Under any
 * other `maxmemory-policy` (allkeys-*, and volatile-* too, since nearly every key has a TTL), a full Redis
 * evicts live nodes' `node:<id>` heartbeats, so nodes reap each other as dead, and mailbox counters, whose
 * ids then repeat (a node re-registers when its connections report that, see `IdRegressions`, but messages to
 * away participants and evicted mailboxes are lost). Logged, not refused: the policy can be changed at run
 * time with CONFIG SET, and a Redis without `maxmemory` never evicts whatever its policy.
 *
 * `CONFIG` is refused to ACL users without `@admin`/`@dangerous`; `INFO memory` then usually answers. When
 * neither does, that the policy could not be checked is logged at info level.
 */
export async function checkEvictionPolicy(redis: Redis, log: Logger): Promise<void> {
  const found = await policyOf(redis);
  if (found === undefined) {
    log.info("could not read Redis's maxmemory-policy (CONFIG and INFO refused): make sure it is noeviction, see docs/operations.md");
    return;
  }
  if (found.policy === "noeviction") return;
  log.warn(
    { maxmemoryPolicy: found.policy, maxmemory: found.maxmemory },
    `Redis maxmemory-policy is ${found.policy}, not noeviction: when Redis fills up it evicts node heartbeats (live nodes then reap each other as dead) and mailbox counters (messages are lost); set maxmemory-policy noeviction (docs/operations.md)`,
  );
}

async function policyOf(redis: Redis): Promise<{ policy: string; maxmemory: string | undefined } | undefined> {
  try {
    const policy = (await redis.config("GET", "maxmemory-policy")) as unknown;
    const max = (await redis.config("GET", "maxmemory")) as unknown;
    if (Array.isArray(policy) && typeof policy[1] === "string") {
      return { policy: policy[1], maxmemory: Array.isArray(max) && typeof max[1] === "string" ? max[1] : undefined };
    }
  } catch {
    // Refused (ACL): INFO below.
  }
  try {
    const info = await redis.info("memory");
    const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
    if (policy !== undefined) return { policy, maxmemory: /^maxmemory:(\S+)/m.exec(info)?.[1] };
  } catch {
    // Refused too: reported as unchecked.
  }
  return undefined;
}
