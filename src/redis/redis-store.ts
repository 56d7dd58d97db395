import type { Redis } from "ioredis";
import type { Clock } from "../cluster/cluster-clock.js";
import type { BackendObserver } from "../store/create-backend.js";
import { composeStore } from "../store/compose-store.js";
import type { Store } from "../store/store.js";
import { closeQuietly } from "./redis-connection.js";
import { RedisContext } from "./redis-context.js";
import type { RedisKeys } from "./redis-keys.js";
import { RedisNodes } from "./redis-nodes.js";
import { pingPrimary } from "./redis-role.js";
import { RedisParticipants } from "./redis-participants.js";
import { RedisRooms } from "./redis-rooms.js";
import { RedisSessions } from "./redis-sessions.js";

/**
 * The cluster's store: every `Store` method on one Redis connection (key layout in `redis-keys.ts`).
 * Atomic methods are single Lua scripts. Commands fail fast with `store_unavailable` while Redis is
 * unreachable; the connection reconnects by itself.
 */
export function createRedisStore(redis: Redis, keys: RedisKeys, clock: Clock, observer?: BackendObserver): Store {
  const ctx = new RedisContext(redis, keys, clock, observer);
  const rooms = new RedisRooms(ctx);
  return composeStore([rooms, new RedisParticipants(ctx, rooms), new RedisSessions(ctx), new RedisNodes(ctx)], {
    ping: async () => {
      // A replica answers PING but refuses every write: /healthz must not call that healthy.
      await ctx.timed("ping", () => pingPrimary(redis));
    },
    close: () => closeQuietly(redis),
  });
}
