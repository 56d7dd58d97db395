/*
 * The Redis key layout of the cluster. Every name below gets the configured prefix (REDIS_PREFIX, e.g.
 * "volly:"). docs/scale-out.md has the same table with each key's writer. Lua scripts build the same names
 * with the functions of `LUA_PRELUDE` at the end of this file: keep both in step.
 * A room's <name> is escaped (`roomKeyName`): room names come from tokens and may hold ':'.
 *
 * session:<id>              HASH   one live PQ session: identity, room, participant_sid, algorithm, node_id,
 *                                  created_at, expires_at, rekeys, state. Metadata only, never key material.
 *                                  TTL = remaining lifetime (+ SESSION_GRACE_MS); deleted when the session ends.
 * stats                     HASH   cluster counters: total_sessions, expired_sessions, rekeys. No TTL.
 * rooms                     SET    names of open rooms. TTL GLOBAL_TTL_MS, refreshed by writes.
 * room:<name>               HASH   sid, name, empty_timeout, max_participants, creation_time, metadata,
 *                                  departure_timeout, empty_since (0 while occupied), departed (1 when it
 *                                  became empty by its last participant leaving, 0 when created empty).
 *                                  TTL LEASE_MS (longer while empty/away).
 * room:<name>:participants  HASH   identity → StoredParticipant protobuf (node_id/away_until left empty:
 *                                  the routing facts live in participant:<sid>). TTL as room:<name>.
 * room:<name>:sids          HASH   identity → participant sid. TTL as room:<name>.
 * room:<name>:calls         HASH   call id → StoredCall protobuf. TTL as room:<name>.
 * room:<name>:hidden        SET    identities of the room's hidden participants (a subset of :sids' keys):
 *                                  num_participants counts only the others. TTL as room:<name>.
 * rooms:empty               ZSET   room name → when its empty (or departure) timeout ends (ms). TTL GLOBAL_TTL_MS.
 * participant:<sid>         HASH   room, identity, node_id, away_until: where a participant is connected.
 *                                  TTL LEASE_MS, or until its resume deadline + LEASE_MS while away.
 * away                      ZSET   participant sid → resume deadline (ms). TTL GLOBAL_TTL_MS.
 * mailbox:<sid>             LIST   queued SignalResponse bytes, oldest first; bounded. Ids are contiguous:
 *                                  the last element has id next-1. TTL as participant:<sid>.
 * mailbox:<sid>:ids         HASH   next (the id the next message gets), acked. TTL as participant:<sid>.
 * presence:<identity>       HASH   connection → online until (ms) | node id. TTL = the latest heartbeat's.
 * node:<id>:presence        SET    identities with a connection on the node (presence:<identity> entries that
 *                                  go offline with it). TTL = the latest heartbeat's.
 * last_seen:<identity>      STRING when the identity was last seen (ms). TTL LAST_SEEN_TTL_MS.
 * node:<id>                 STRING NodeInfo protobuf; exists while the node is alive (TTL = heartbeat TTL).
 * node:<id>:beat            STRING the node's ever-increasing heartbeat number (TTL = heartbeat TTL): an older one
 *                                  than the node last wrote means Redis went back to older data.
 * nodes                     HASH   node id → NodeInfo protobuf as last registered (to find dead nodes).
 * node:<id>:participants    SET    sids whose connection is (or was last) on the node. TTL GLOBAL_TTL_MS.
 * node:<id>:sessions        SET    the node's live session ids (active_sessions sums these over live nodes).
 * node:<id>:reaped_sessions SET    ids of the node's sessions a reaper ended (they were counted in total_sessions):
 *                                  one the node re-registers is not counted again. TTL: the latest of their expiries.
 * lock:<name>               STRING lock token. TTL = the lock's time.
 * bus:<topic>               pub/sub channel (not a key): BusEnvelope protobufs for `node:<id>` topics,
 *                                  published by nodes and by the mailbox scripts (forwarded deliveries).
 */

/**
 * TTL of a participant's and its room's records, refreshed by every write (a message's enqueue only sets
 * it on a mailbox key it creates) and by the holding node.
 */
export const LEASE_MS = 10 * 60_000;
/** TTL of the cluster-wide indexes (rooms, away, rooms:empty, nodes, per-node sets). */
export const GLOBAL_TTL_MS = 7 * 24 * 3_600_000;
/** Extra life of a `session:<id>` record past its expiry, so its node can still end and count it. */
export const SESSION_GRACE_MS = 30_000;
/** How long `last_seen:<identity>` is kept (the same for every store). */
export { LAST_SEEN_TTL_MS } from "../store/store.js";

/** Key names with the prefix applied (for commands issued from TypeScript). */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  session(id: string): string {
    return `${this.prefix}session:${id}`;
  }
  get stats(): string {
    return `${this.prefix}stats`;
  }
  get rooms(): string {
    return `${this.prefix}rooms`;
  }
  room(name: string): string {
    return `${this.prefix}room:${roomKeyName(name)}`;
  }
  roomCalls(name: string): string {
    return `${this.prefix}room:${roomKeyName(name)}:calls`;
  }
  presence(identity: string): string {
    return `${this.prefix}presence:${identity}`;
  }
  lastSeen(identity: string): string {
    return `${this.prefix}last_seen:${identity}`;
  }
  node(id: string): string {
    return `${this.prefix}node:${id}`;
  }
  get nodes(): string {
    return `${this.prefix}nodes`;
  }
  nodeSessions(id: string): string {
    return `${this.prefix}node:${id}:sessions`;
  }
  lock(name: string): string {
    return `${this.prefix}lock:${name}`;
  }
  mailbox(sid: string): string {
    return `${this.prefix}mailbox:${sid}`;
  }
  /** The pub/sub channel of a bus topic. */
  channel(topic: string): string {
    return `${this.prefix}bus:${topic}`;
  }
}

/**
 * A room's name as it appears in its keys: '%' and ':' percent-encoded, everything else as is. Room names
 * come from tokens, and a room named "x:sids" would otherwise be room x's sid index (`room:x:sids`), so one
 * participant could corrupt another room. Names without either character (nearly all) are unchanged.
 * `rk` in `LUA_PRELUDE` is the same function.
 */
export function roomKeyName(name: string): string {
  return /[%:]/.test(name) ? name.replace(/[%:]/g, (c) => (c === "%" ? "%25" : "%3A")) : name;
}

/**
 * Prepended to every Lua script. Scripts take no KEYS (they derive names from ARGV, so they need a
 * standalone Redis or Sentinel, not Redis Cluster); ARGV[1] is the prefix, ARGV[2] now (ms) on the cluster's
 * clock (Redis's `TIME` as the caller's `ClusterClock` keeps it, so every node's scripts agree on it, whatever
 * the nodes' own clocks say) and the script's own arguments start at ARGV[3] (`arg(1)`).
 */
export const LUA_PRELUDE = `
local P = ARGV[1]
local NOW = tonumber(ARGV[2])
local LEASE = ${LEASE_MS}
local GLOBAL = ${GLOBAL_TTL_MS}
local function arg(i) return ARGV[i + 2] end
local RK = {['%'] = '%25', [':'] = '%3A'}
local function rk(n) if string.find(n, '[%%:]') then return (string.gsub(n, '[%%:]', RK)) end return n end
local function k_room(n) return P .. 'room:' .. rk(n) end
local function k_parts(n) return P .. 'room:' .. rk(n) .. ':participants' end
local function k_sids(n) return P .. 'room:' .. rk(n) .. ':sids' end
local function k_calls(n) return P .. 'room:' .. rk(n) .. ':calls' end
local function k_hidden(n) return P .. 'room:' .. rk(n) .. ':hidden' end
local function k_part(sid) return P .. 'participant:' .. sid end
local function k_mail(sid) return P .. 'mailbox:' .. sid end
local function k_ids(sid) return P .. 'mailbox:' .. sid .. ':ids' end
local function k_node_parts(id) return P .. 'node:' .. id .. ':participants' end
local function k_node_sessions(id) return P .. 'node:' .. id .. ':sessions' end
local function k_node_reaped(id) return P .. 'node:' .. id .. ':reaped_sessions' end
local function k_node_presence(id) return P .. 'node:' .. id .. ':presence' end
local function k_node(id) return P .. 'node:' .. id end
local function k_session(id) return P .. 'session:' .. id end
-- The bus channel of node id's topic (RedisKeys.channel(nodeTopic(id))).
local function k_bus_node(id) return P .. 'bus:node:' .. id end
local K_ROOMS = P .. 'rooms'
local K_EMPTY = P .. 'rooms:empty'
local K_AWAY = P .. 'away'
local K_NODES = P .. 'nodes'
local K_STATS = P .. 'stats'
-- Raises a key's TTL to at least ms (never shortens it).
local function extend(key, ms)
  local t = redis.call('PTTL', key)
  if t == -1 or (t >= 0 and t < ms) then redis.call('PEXPIRE', key, math.floor(ms)) end
end
local function touch_room(n, ms)
  extend(k_room(n), ms); extend(k_parts(n), ms); extend(k_sids(n), ms); extend(k_calls(n), ms); extend(k_hidden(n), ms)
  extend(K_ROOMS, GLOBAL)
end
local function touch_part(sid, ms)
  extend(k_part(sid), ms); extend(k_mail(sid), ms); extend(k_ids(sid), ms)
end
`;
