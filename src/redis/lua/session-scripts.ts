import { LAST_SEEN_TTL_MS, SESSION_GRACE_MS } from "../redis-keys.js";
import { LuaScript } from "../lua-script.js";

// Writes a session record: (id, node, expires_at, field, value, …).
const WRITE = `
local function write_session()
  local id, node = arg(1), arg(2)
  local key = k_session(id)
  redis.call('HSET', key, unpack(ARGV, 6))
  redis.call('PEXPIREAT', key, tonumber(arg(3)) + ${SESSION_GRACE_MS})
  redis.call('SADD', k_node_sessions(node), id)
  extend(k_node_sessions(node), GLOBAL)
  redis.call('SADD', K_SESSION_NODES, node)
  extend(K_SESSION_NODES, GLOBAL)
end
-- Node ids whose sessions count: every node with sessions except registered nodes that are dead.
local function session_nodes()
  local out = {}
  for _, node in ipairs(redis.call('SMEMBERS', K_SESSION_NODES)) do
    if not node_dead(node) then out[#out + 1] = node end
  end
  return out
end
`;

/** Session and presence scripts. Session records are HASHes of metadata only (never key material). */
export const sessionScripts = {
  /** (id, node, expires_at, fields…) → records the session and counts it in total_sessions. */
  create: new LuaScript("session_create", `${WRITE}
write_session()
redis.call('HINCRBY', K_STATS, 'total_sessions', 1)
return 1
`),

  /** (id, node, expires_at, fields…) → 1 when the record existed and was updated. */
  update: new LuaScript("session_update", `${WRITE}
if redis.call('EXISTS', k_session(arg(1))) == 0 then return 0 end
write_session()
return 1
`),

  /**
   * (id, node, expires_at, fields…) → 1 when the record was missing and is back. Counted in total_sessions
   * unless a reaper ended it (node_reap remembers those): after an empty restart the counter starts again
   * from the sessions the nodes re-register, and a node taken for dead does not count its own twice.
   */
  restore: new LuaScript("session_restore", `${WRITE}
if redis.call('EXISTS', k_session(arg(1))) == 1 then return 0 end
write_session()
if redis.call('SREM', k_node_reaped(arg(2)), arg(1)) == 0 then redis.call('HINCRBY', K_STATS, 'total_sessions', 1) end
return 1
`),

  /** (id, expired '1'|'0') → 1 when the record existed; counted in expired_sessions when expired. */
  end: new LuaScript("session_end", `${WRITE}
local id = arg(1)
local node = redis.call('HGET', k_session(id), 'node_id')
local existed = redis.call('DEL', k_session(id))
if node then redis.call('SREM', k_node_sessions(node), id) end
if existed == 1 and arg(2) == '1' then redis.call('HINCRBY', K_STATS, 'expired_sessions', 1) end
return existed
`),

  /** (node or '') → {id, flat fields} of the live sessions (of one node, or of every node that counts). */
  list: new LuaScript("session_list", `${WRITE}
local nodes = {}
if arg(1) ~= '' then nodes = {arg(1)} else nodes = session_nodes() end
local out = {}
for _, node in ipairs(nodes) do
  for _, id in ipairs(redis.call('SMEMBERS', k_node_sessions(node))) do
    local f = redis.call('HGETALL', k_session(id))
    if #f > 0 then out[#out + 1] = {id, f} else redis.call('SREM', k_node_sessions(node), id) end
  end
end
return out
`),

  /**
   * () → {active, total, expired, rekeys}; active counts live records of nodes that are not dead. The total
   * is never below active (a floor only: every live record was counted, when created or when restored).
   */
  stats: new LuaScript("session_stats", `${WRITE}
local active = 0
for _, node in ipairs(session_nodes()) do
  local ids = redis.call('SMEMBERS', k_node_sessions(node))
  if #ids == 0 then redis.call('SREM', K_SESSION_NODES, node) end
  for _, id in ipairs(ids) do
    if redis.call('EXISTS', k_session(id)) == 1 then active = active + 1 else redis.call('SREM', k_node_sessions(node), id) end
  end
end
local f = redis.call('HMGET', K_STATS, 'total_sessions', 'expired_sessions', 'rekeys')
return {active, math.max(active, tonumber(f[1] or '0')), tonumber(f[2] or '0'), tonumber(f[3] or '0')}
`),

  /** (identity, connection, until, ttl, node) → marks the connection online (its value `until|node`); last seen = now. */
  online: new LuaScript("presence_online", `
local key = P .. 'presence:' .. arg(1)
redis.call('HSET', key, arg(2), arg(3) .. '|' .. arg(5))
extend(key, tonumber(arg(4)))
-- The identities the node has connections of, which go offline with it (presence_drop_node).
redis.call('SADD', k_node_presence(arg(5)), arg(1))
extend(k_node_presence(arg(5)), tonumber(arg(4)))
redis.call('SET', P .. 'last_seen:' .. arg(1), NOW, 'PX', ${LAST_SEEN_TTL_MS})
return 1
`),

  /** (identity, connection) → marks the connection offline; last seen = now. */
  offline: new LuaScript("presence_offline", `
local key = P .. 'presence:' .. arg(1)
local node = string.match(redis.call('HGET', key, arg(2)) or '', '^%d+|(.+)$')
redis.call('HDEL', key, arg(2))
-- Out of the node's index once it holds no other connection of the identity, or the index would grow with
-- every identity that ever connected to a long-lived node.
if node then
  local still = false
  for _, v in ipairs(redis.call('HVALS', key)) do
    if string.match(v, '^%d+|(.+)$') == node then still = true; break end
  end
  if not still then redis.call('SREM', k_node_presence(node), arg(1)) end
end
redis.call('SET', P .. 'last_seen:' .. arg(1), NOW, 'PX', ${LAST_SEEN_TTL_MS})
return 1
`),

  /**
   * (identity, connection id prefix: a participant's sid and a dot) → marks each of its connections offline,
   * as `offline` does; last seen = now if one was there (a hidden participant has none, and no last seen).
   */
  offlineParticipant: new LuaScript("presence_offline_participant", `
local key = P .. 'presence:' .. arg(1)
local prefix = arg(2)
local any = false
local nodes = {}
for _, f in ipairs(redis.call('HKEYS', key)) do
  if string.sub(f, 1, #prefix) == prefix then
    local node = string.match(redis.call('HGET', key, f) or '', '^%d+|(.+)$')
    redis.call('HDEL', key, f)
    any = true
    if node then nodes[node] = true end
  end
end
if not any then return 0 end
for _, v in ipairs(redis.call('HVALS', key)) do
  local node = string.match(v, '^%d+|(.+)$')
  if node then nodes[node] = nil end
end
for node in pairs(nodes) do redis.call('SREM', k_node_presence(node), arg(1)) end
redis.call('SET', P .. 'last_seen:' .. arg(1), NOW, 'PX', ${LAST_SEEN_TTL_MS})
return 1
`),

  /**
   * (node, last seen ms or '') → marks every connection the node registered offline, and for the identities
   * it had online makes last seen that time unless a later one is known.
   */
  dropNode: new LuaScript("presence_drop_node", `
local node, seen = arg(1), tonumber(arg(2))
local index = k_node_presence(node)
for _, identity in ipairs(redis.call('SMEMBERS', index)) do
  local key = P .. 'presence:' .. identity
  local f = redis.call('HGETALL', key)
  local dropped = false
  for j = 1, #f, 2 do
    if string.match(f[j + 1], '^%d+|(.*)$') == node then
      redis.call('HDEL', key, f[j])
      dropped = true
    end
  end
  local last = P .. 'last_seen:' .. identity
  if dropped and seen and seen > tonumber(redis.call('GET', last) or '0') then
    redis.call('SET', last, seen, 'PX', ${LAST_SEEN_TTL_MS})
  end
end
redis.call('DEL', index)
return 1
`),

  /**
   * (identities…) → {online 1|0, last seen ms} for each. A connection counts while its time runs and its
   * node is not dead; an entry without a node (written before nodes were recorded) by its time alone.
   */
  presence: new LuaScript("presence_get", `
local out = {}
for i = 3, #ARGV do
  local key = P .. 'presence:' .. ARGV[i]
  local online = 0
  local f = redis.call('HGETALL', key)
  for j = 1, #f, 2 do
    local untilMs, node = string.match(f[j + 1], '^(%d+)|?(.*)$')
    if tonumber(untilMs or '0') <= NOW or (node ~= '' and node_dead(node)) then
      redis.call('HDEL', key, f[j])
    else
      online = 1
    end
  end
  out[#out + 1] = {online, redis.call('GET', P .. 'last_seen:' .. ARGV[i]) or '0'}
end
return out
`),
};
