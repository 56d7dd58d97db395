import { LuaScript } from "../lua-script.js";

/** Participant scripts. A "row" is {StoredParticipant bytes, node_id, away_until} (see helpers). */
export const participantScripts = {
  /**
   * (room, identity, sid, node, bytes, maxParticipants, hidden '1'|'0') → {'ok', room row, replaced row|nil,
   * other rows}, {'room_missing'} or {'room_full'}.
   */
  join: new LuaScript("participant_join", `
local n, identity, sid, node = arg(1), arg(2), arg(3), arg(4)
if redis.call('EXISTS', k_room(n)) == 0 then return {'room_missing'} end
local rsid = redis.call('HGET', k_sids(n), identity)
local others = redis.call('HLEN', k_sids(n))
if rsid then others = others - 1 end
local limit = tonumber(redis.call('HGET', k_room(n), 'max_participants') or '0')
if limit <= 0 then limit = tonumber(arg(6)) end
if others >= limit then return {'room_full'} end
local replaced = false
if rsid then
  replaced = part_row(n, identity)
  forget(rsid)
end
redis.call('HSET', k_parts(n), identity, arg(5))
-- Also when it replaces a participant: the identity may have been hidden and no longer be, or the reverse.
set_hidden(n, identity, arg(7))
place(n, identity, sid, node)
redis.call('DEL', k_mail(sid))
redis.call('HSET', k_ids(sid), 'next', 1, 'acked', 0)
touch_room(n, LEASE)
touch_part(sid, LEASE)
local rows = {}
for _, o in ipairs(redis.call('HKEYS', k_sids(n))) do
  if o ~= identity then
    local r = part_row(n, o)
    if r then rows[#rows + 1] = r end
  end
end
return {'ok', room_row(n), replaced, rows}
`),

  /** (room, identity) → row or nil. */
  get: new LuaScript("participant_get", `return part_row(arg(1), arg(2))`),

  /** (sid) → row or nil. */
  bySid: new LuaScript("participant_by_sid", `return part_by_sid(arg(1))`),

  /** (room) → rows. */
  list: new LuaScript("participant_list", `
local out = {}
for _, identity in ipairs(redis.call('HKEYS', k_sids(arg(1)))) do
  local r = part_row(arg(1), identity)
  if r then out[#out + 1] = r end
end
return out
`),

  /** (room, identity, sid, bytes) → 1 when the sid matched and the record was replaced. */
  update: new LuaScript("participant_update", `
local n, identity = arg(1), arg(2)
if redis.call('HGET', k_sids(n), identity) ~= arg(3) then return 0 end
redis.call('HSET', k_parts(n), identity, arg(4))
touch_room(n, LEASE)
return 1
`),

  /** (room, identity, sid, awayExpiredBy or '', call ids…) → the removed row, or nil. */
  remove: new LuaScript("participant_remove", `
local n, identity, sid, by = arg(1), arg(2), arg(3), arg(4)
if redis.call('HGET', k_sids(n), identity) ~= sid then return false end
local row = part_row(n, identity)
if by ~= '' then
  local away = tonumber(row[3])
  if away == 0 or away > tonumber(by) then return false end
end
redis.call('HDEL', k_parts(n), identity)
redis.call('HDEL', k_sids(n), identity)
redis.call('SREM', k_hidden(n), identity)
forget(sid)
for i = 7, #ARGV do redis.call('HDEL', k_calls(n), ARGV[i]) end
if redis.call('HLEN', k_sids(n)) == 0 and redis.call('EXISTS', k_room(n)) == 1 then mark_empty(n, true) end
return row
`),

  /** (room, identity, sid, awayUntil, heldBy or '') → 1 when marked. */
  markAway: new LuaScript("participant_mark_away", `
local n, identity, sid, held = arg(1), arg(2), arg(3), arg(5)
if redis.call('HGET', k_sids(n), identity) ~= sid then return 0 end
if held ~= '' and redis.call('HGET', k_part(sid), 'node_id') ~= held then return 0 end
set_away(n, sid, tonumber(arg(4)))
return 1
`),

  /** (room, identity, sid, node) → the row before the claim, or nil. */
  claim: new LuaScript("participant_claim", `
local n, identity, sid, node = arg(1), arg(2), arg(3), arg(4)
if redis.call('HGET', k_sids(n), identity) ~= sid then return false end
local row = part_row(n, identity)
if row[2] ~= '' then redis.call('SREM', k_node_parts(row[2]), sid) end
place(n, identity, sid, node)
redis.call('ZREM', K_AWAY, sid)
touch_room(n, LEASE)
touch_part(sid, LEASE)
return row
`),

  /** () → rows of participants whose resume deadline passed. */
  expiredAway: new LuaScript("participant_expired_away", `
local out = {}
for _, sid in ipairs(redis.call('ZRANGEBYSCORE', K_AWAY, '-inf', NOW)) do
  local r = part_by_sid(sid)
  if r and tonumber(r[3]) > 0 then out[#out + 1] = r else redis.call('ZREM', K_AWAY, sid) end
end
return out
`),

  /** (node) → rows of participants whose connection is (or was last) on node. */
  onNode: new LuaScript("participant_on_node", `
local node = arg(1)
local out = {}
for _, sid in ipairs(redis.call('SMEMBERS', k_node_parts(node))) do
  local r = part_by_sid(sid)
  if r and r[2] == node then out[#out + 1] = r else redis.call('SREM', k_node_parts(node), sid) end
end
return out
`),

  /**
   * (room fields…, identity, sid, node, bytes, nextMessageId, recreate '1'|'0', hidden '1'|'0') → outcome
   * ('kept', 'reclaimed', 'restored', 'moved', 'replaced', 'missing'); see Store.restoreParticipant.
   */
  restore: new LuaScript("participant_restore", `
local n, identity, sid, node = arg(1), arg(8), arg(9), arg(10)
local cur = redis.call('HGET', k_sids(n), identity)
local outcome
if cur then
  if cur ~= sid then return 'replaced' end
  local f = redis.call('HMGET', k_part(sid), 'node_id', 'away_until')
  if f[1] and f[1] ~= node then return 'moved' end
  if not f[1] then place(n, identity, sid, node) end
  if tonumber(f[2] or '0') > 0 then
    redis.call('HSET', k_part(sid), 'away_until', 0)
    redis.call('ZREM', K_AWAY, sid)
    outcome = 'reclaimed'
  else
    outcome = 'kept'
  end
else
  if arg(13) ~= '1' then return 'missing' end
  if redis.call('EXISTS', k_room(n)) == 0 then
    redis.call('HSET', k_room(n), 'sid', arg(2), 'name', n, 'empty_timeout', arg(3), 'max_participants', arg(4),
      'creation_time', arg(5), 'metadata', arg(6), 'departure_timeout', arg(7))
  end
  redis.call('SADD', K_ROOMS, n)
  redis.call('HSET', k_parts(n), identity, arg(11))
  place(n, identity, sid, node)
  outcome = 'restored'
end
-- On every path that keeps the participant, not only 'restored': a node re-asserts what it holds every
-- sync, which also brings in participants that joined before this set existed.
set_hidden(n, identity, arg(14))
local want = math.max(tonumber(arg(12)), 1)
local nxt = tonumber(redis.call('HGET', k_ids(sid), 'next') or '0')
if nxt < want then
  redis.call('DEL', k_mail(sid))
  redis.call('HSET', k_ids(sid), 'next', want, 'acked', want - 1)
end
extend(k_node_parts(node), GLOBAL)
touch_room(n, LEASE)
touch_part(sid, LEASE)
return outcome
`),
};
