import { LuaScript } from "../lua-script.js";

/**
 * Room scripts. Room fields in arguments are: name, sid, empty_timeout, max_participants, creation_time, metadata,
 * departure_timeout (`roomArgs`).
 */
export const roomScripts = {
  /** (room fields…, maxRooms) → {1, row} created, {0, row} existed, {-1} too many rooms. */
  create: new LuaScript("room_create", `
local n = arg(1)
local row = room_row(n)
if row then return {0, row} end
local max = tonumber(arg(8))
if redis.call('SCARD', K_ROOMS) >= max then
  for _, m in ipairs(redis.call('SMEMBERS', K_ROOMS)) do
    if redis.call('EXISTS', k_room(m)) == 0 then redis.call('SREM', K_ROOMS, m) end
  end
  if redis.call('SCARD', K_ROOMS) >= max then return {-1} end
end
redis.call('HSET', k_room(n), 'sid', arg(2), 'name', n, 'empty_timeout', arg(3), 'max_participants', arg(4),
  'creation_time', arg(5), 'metadata', arg(6), 'departure_timeout', arg(7))
redis.call('SADD', K_ROOMS, n)
mark_empty(n, false)
return {1, room_row(n)}
`),

  /** (names…) → rows of the rooms that exist; no names = every room (stale names are dropped). */
  read: new LuaScript("room_read", `
local names = {}
local all = #ARGV <= 2
if all then names = redis.call('SMEMBERS', K_ROOMS) else for i = 3, #ARGV do names[#names + 1] = ARGV[i] end end
local out = {}
for _, n in ipairs(names) do
  local row = room_row(n)
  if row then out[#out + 1] = row elseif all then redis.call('SREM', K_ROOMS, n) end
end
return out
`),

  /** (name, field, value, …) → row, or nil when the room does not exist. */
  update: new LuaScript("room_update", `
local n = arg(1)
if redis.call('EXISTS', k_room(n)) == 0 then return false end
for i = 4, #ARGV, 2 do redis.call('HSET', k_room(n), ARGV[i], ARGV[i + 1]) end
local since = tonumber(redis.call('HGET', k_room(n), 'empty_since') or '0')
if since > 0 and redis.call('HLEN', k_sids(n)) == 0 then
  local t = empty_ms(n)
  redis.call('ZADD', K_EMPTY, since + t, n)
  touch_room(n, t + LEASE)
end
return room_row(n)
`),

  /** (name) → rows of the participants it had; the room and everything in it is gone. */
  delete: new LuaScript("room_delete", `
local n = arg(1)
local out = {}
for _, identity in ipairs(redis.call('HKEYS', k_sids(n))) do
  local row = part_row(n, identity)
  if row then out[#out + 1] = row end
end
delete_room(n)
return out
`),

  /** () → names of the rooms deleted because their empty timeout passed. */
  expireEmpty: new LuaScript("room_expire_empty", `
local out = {}
for _, n in ipairs(redis.call('ZRANGEBYSCORE', K_EMPTY, '-inf', NOW)) do
  if redis.call('EXISTS', k_room(n)) == 0 then
    redis.call('ZREM', K_EMPTY, n)
    redis.call('SREM', K_ROOMS, n)
  elseif redis.call('HLEN', k_sids(n)) > 0 then
    redis.call('ZREM', K_EMPTY, n)
  else
    local since = tonumber(redis.call('HGET', k_room(n), 'empty_since') or '0')
    local t = empty_ms(n)
    if since > 0 and NOW - since >= t then
      delete_room(n)
      out[#out + 1] = n
    elseif since > 0 then
      redis.call('ZADD', K_EMPTY, since + t, n)
    else
      redis.call('ZREM', K_EMPTY, n)
    end
  end
end
return out
`),

  /** (room, call id, StoredCall bytes) → 1 when stored (the room exists). */
  putCall: new LuaScript("call_put", `
local n = arg(1)
if redis.call('EXISTS', k_room(n)) == 0 then return 0 end
redis.call('HSET', k_calls(n), arg(2), arg(3))
touch_room(n, LEASE)
return 1
`),

  /**
   * (room, call id, expected StoredCall bytes, new bytes) → 1 when the call was still `expected` and is now
   * the new bytes; otherwise nothing is written and the reply is the call as it is now (nil when gone).
   * A compare-and-swap: the script cannot read the protobuf, so the change is made by the caller.
   */
  swapCall: new LuaScript("call_swap", `
local n = arg(1)
local current = redis.call('HGET', k_calls(n), arg(2))
if not current then return false end
if current ~= arg(3) then return current end
redis.call('HSET', k_calls(n), arg(2), arg(4))
touch_room(n, LEASE)
return 1
`),
};
