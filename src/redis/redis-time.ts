import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { TimeSource } from "../cluster/cluster-clock.js";
import { toStoreError } from "./redis-connection.js";

/**
 * Redis's clock (`TIME`) in epoch milliseconds, the cluster's time source (see `ClusterClock`). An ACL user that
 * may not run `TIME` (the user docs/operations.md gave before 0.1.0's clock work lacked `+time`) is not a reason
 * to refuse to start: the node then reads its own wall clock, as nodes did before, and says so once. Nodes
 * whose clocks disagree then disagree on deadlines by as much (docs/scale-out.md, "Clocks").
 */
export function redisTimeSource(redis: Redis, log: Logger): TimeSource {
  let refused = false;
  return async () => {
    if (refused) return Date.now();
    try {
      const [seconds, micros] = await redis.time();
      return Number(seconds) * 1000 + Number(micros) / 1000;
    } catch (e) {
      if (!(e instanceof Error && e.message.startsWith("NOPERM"))) throw toStoreError(e);
      refused = true;
      log.warn({ err: e.message }, "redis refuses TIME to this user: the cluster clock follows this node's own clock, so node clocks must agree (add +time to the ACL user)");
      return Date.now();
    }
  };
}
