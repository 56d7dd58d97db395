/**
 * Lua functions shared by the scripts (after `LUA_PRELUDE`). A participant "row" is the triple
 * {StoredParticipant bytes, node_id, away_until} that `redis-codec.ts` (`decodeParticipantRow`) turns back into a record.
 */
export const LUA_HELPERS = `
local K_SESSION_NODES = P .. 'sessions:nodes'
-- The participant with this identity in room n, or false.
local function part_row(n, identity)
  local sid = redis.call('HGET', k_sids(n), identity)
  if not sid then return false end
  local f = redis.call('HMGET', k_part(sid), 'node_id', 'away_until')
  return {redis.call('HGET', k_parts(n), identity) or '', f[1] or '', f[2] or '0'}
end
-- The participant with this sid if it is still the one its identity maps to, or false.
local function part_by_sid(sid)
  local f = redis.call('HMGET', k_part(sid), 'room', 'identity')
  if not f[1] or not f[2] then return false end
  if redis.call('HGET', k_sids(f[1]), f[2]) ~= sid then return false end
  return part_row(f[1], f[2])
end
-- {flat room fields, participant count}, or false. Hidden participants are not counted (as in LiveKit),
-- so that no joiner can tell one is there; room limits count everyone.
local function room_row(n)
  local f = redis.call('HGETALL', k_room(n))
  if #f == 0 then return false end
  return {f, math.max(redis.call('HLEN', k_sids(n)) - redis.call('SCARD', k_hidden(n)), 0)}
end
-- Records whether the participant with this identity is hidden (its record is a protobuf Lua cannot read).
local function set_hidden(n, identity, hidden)
  if hidden == '1' then redis.call('SADD', k_hidden(n), identity) else redis.call('SREM', k_hidden(n), identity) end
end
-- Drops a participant's routing facts and mailbox (not its entry in the room).
local function forget(sid)
  local node = redis.call('HGET', k_part(sid), 'node_id')
  if node and node ~= '' then redis.call('SREM', k_node_parts(node), sid) end
  redis.call('DEL', k_part(sid), k_mail(sid), k_ids(sid))
  redis.call('ZREM', K_AWAY, sid)
end
-- How long (ms) empty room n stays open: departure_timeout once its last participant left, when set;
-- empty_timeout otherwise (store/empty-room-timeout.ts states the same rule). A room written before the
-- departure fields existed has neither and keeps empty_timeout.
local function empty_ms(n)
  local f = redis.call('HMGET', k_room(n), 'empty_timeout', 'departure_timeout', 'departed')
  local departure = tonumber(f[2] or '0')
  if f[3] == '1' and departure > 0 then return departure * 1000 end
  return tonumber(f[1] or '0') * 1000
end
-- A room just became empty, by being created (departed false) or by its last participant leaving: its
-- timeout starts now.
local function mark_empty(n, departed)
  redis.call('HSET', k_room(n), 'empty_since', NOW, 'departed', departed and 1 or 0)
  local t = empty_ms(n)
  redis.call('ZADD', K_EMPTY, NOW + t, n)
  extend(K_EMPTY, GLOBAL)
  touch_room(n, t + LEASE)
end
-- Deletes a room with its participants, calls and mailboxes.
local function delete_room(n)
  for _, sid in ipairs(redis.call('HVALS', k_sids(n))) do forget(sid) end
  redis.call('DEL', k_room(n), k_parts(n), k_sids(n), k_calls(n), k_hidden(n))
  redis.call('SREM', K_ROOMS, n)
  redis.call('ZREM', K_EMPTY, n)
end
-- Puts a participant on node: routing facts, node index, room no longer empty.
local function place(n, identity, sid, node)
  redis.call('HSET', k_sids(n), identity, sid)
  redis.call('HSET', k_part(sid), 'room', n, 'identity', identity, 'node_id', node, 'away_until', 0)
  redis.call('SADD', k_node_parts(node), sid)
  extend(k_node_parts(node), GLOBAL)
  redis.call('HSET', k_room(n), 'empty_since', 0)
  redis.call('ZREM', K_EMPTY, n)
end
-- Marks a participant away until untilMs and keeps its records (and room) past that.
local function set_away(n, sid, untilMs)
  redis.call('HSET', k_part(sid), 'away_until', untilMs)
  redis.call('HDEL', k_ids(sid), 'away_bytes')
  redis.call('ZADD', K_AWAY, untilMs, sid)
  extend(K_AWAY, GLOBAL)
  local ms = math.max(untilMs - NOW, 0) + LEASE
  touch_part(sid, ms)
  touch_room(n, ms)
end
-- A node is dead when it registered (nodes) and its heartbeat key is gone.
local function node_dead(id)
  return redis.call('EXISTS', k_node(id)) == 0 and redis.call('HEXISTS', K_NODES, id) == 1
end
`;
