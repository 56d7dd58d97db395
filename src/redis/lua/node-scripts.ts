import { LuaScript } from "../lua-script.js";

/** Node registry and lock scripts. */
export const nodeScripts = {
  /**
   * (id, NodeInfo bytes, ttl, beat, lowest beat) → 1 when the node was alive before this heartbeat, 0 when
   * new or lost, 2 when its key is there but with an older beat than the node last had confirmed: Redis came
   * back with older data (a restart from a snapshot, AOF writes lost in a crash, a lagging replica promoted).
   * `node:<id>:beat` holds the node's own ever-increasing heartbeat number, with the node key's TTL (one script
   * writes both, so they expire together). Any beat at or above the lowest one passes: a heartbeat whose reply
   * was lost may have written a newer one than the node knows of.
   */
  heartbeat: new LuaScript("node_heartbeat", `
local id = arg(1)
local beat = k_node(id) .. ':beat'
local alive = redis.call('EXISTS', k_node(id))
if alive == 1 and tonumber(redis.call('GET', beat) or '0') < tonumber(arg(5)) then alive = 2 end
redis.call('SET', k_node(id), arg(2), 'PX', arg(3))
redis.call('SET', beat, arg(4), 'PX', arg(3))
redis.call('HSET', K_NODES, id, arg(2))
extend(K_NODES, GLOBAL)
extend(k_node_parts(id), GLOBAL)
extend(k_node_sessions(id), GLOBAL)
return alive
`),

  /** (alive '1'|'0') → NodeInfo bytes of the live nodes, or of the dead ones as they last registered. */
  list: new LuaScript("node_list", `
local want_alive = arg(1) == '1'
local out = {}
local f = redis.call('HGETALL', K_NODES)
for i = 1, #f, 2 do
  local alive = redis.call('EXISTS', k_node(f[i])) == 1
  if alive == want_alive then
    if alive then out[#out + 1] = redis.call('GET', k_node(f[i])) or f[i + 1] else out[#out + 1] = f[i + 1] end
  end
end
return out
`),

  /** (id) → its heartbeat ends now (it counts as dead; the reaper then takes its participants). */
  remove: new LuaScript("node_remove", `
redis.call('DEL', k_node(arg(1)), k_node(arg(1)) .. ':beat')
return 1
`),

  /**
   * (id, awayUntil) → {participants marked away, sessions ended}, or nil when the node is not dead
   * (alive again, or already reaped). Atomic, so it cannot undo a heartbeat that revived the node.
   */
  reap: new LuaScript("node_reap", `
local id = arg(1)
if not node_dead(id) then return false end
local untilMs = tonumber(arg(2))
local parts, sessions = 0, 0
for _, sid in ipairs(redis.call('SMEMBERS', k_node_parts(id))) do
  local f = redis.call('HMGET', k_part(sid), 'node_id', 'away_until', 'room', 'identity')
  if f[1] == id and f[3] and f[4] and redis.call('HGET', k_sids(f[3]), f[4]) == sid then
    if tonumber(f[2] or '0') == 0 then
      set_away(f[3], sid, untilMs)
      parts = parts + 1
    end
  else
    redis.call('SREM', k_node_parts(id), sid)
  end
end
-- The ended sessions were counted in total_sessions when created: remembered while they could still be
-- re-registered by their node coming back, so that session_restore does not count them again.
local reaped, keep = k_node_reaped(id), 0
for _, s in ipairs(redis.call('SMEMBERS', k_node_sessions(id))) do
  local ttl = redis.call('PTTL', k_session(s))
  if redis.call('DEL', k_session(s)) == 1 then
    sessions = sessions + 1
    redis.call('SADD', reaped, s)
    if ttl < 0 then ttl = GLOBAL end
    keep = math.max(keep, ttl)
  end
end
if keep > 0 then extend(reaped, keep) end
redis.call('DEL', k_node_sessions(id))
redis.call('SREM', K_SESSION_NODES, id)
redis.call('HDEL', K_NODES, id)
return {parts, sessions}
`),

  /** (lock key, token) → releases the lock if the token still holds it. */
  unlock: new LuaScript("lock_release", `
if redis.call('GET', arg(1)) == arg(2) then redis.call('DEL', arg(1)) end
return 1
`),
};
