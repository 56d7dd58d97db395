import { LuaScript } from "../lua-script.js";

// Appends one message to a participant's mailbox: {sid, node_id, id, overflow}.
const PUSH = `
local function push(sid, limit, response)
  local f = redis.call('HMGET', k_part(sid), 'node_id', 'away_until')
  local id = tonumber(redis.call('HGET', k_ids(sid), 'next') or '1')
  redis.call('HSET', k_ids(sid), 'next', id + 1)
  local len = redis.call('RPUSH', k_mail(sid), response)
  local overflow = 0
  if len > limit then
    if tonumber(f[2] or '0') > 0 then overflow = 1 end
    redis.call('LTRIM', k_mail(sid), len - limit, -1)
  end
  touch_part(sid, LEASE)
  return {sid, f[1] or '', id, overflow}
end
`;

/**
 * Mailbox scripts. `mailbox:<sid>` holds the messages with contiguous ids ending at next-1, so a
 * message's id is its position: first = next - LLEN.
 */
export const mailboxScripts = {
  /** (room, identity, limit, response) → {sid, node, id, overflow} or nil (no such participant). */
  enqueue: new LuaScript("mailbox_enqueue", `${PUSH}
local sid = redis.call('HGET', k_sids(arg(1)), arg(2))
if not sid then return false end
return push(sid, tonumber(arg(3)), arg(4))
`),

  /** (room, limit, exceptSid, response) → list of {sid, node, id, overflow}. */
  enqueueRoom: new LuaScript("mailbox_enqueue_room", `${PUSH}
local out = {}
for _, sid in ipairs(redis.call('HVALS', k_sids(arg(1)))) do
  if sid ~= arg(3) then out[#out + 1] = push(sid, tonumber(arg(2)), arg(4)) end
end
return out
`),

  /** (sid, afterId) → {firstId, nextId, id of the first message returned, messages}. */
  read: new LuaScript("mailbox_read", `
local sid = arg(1)
local nxt = tonumber(redis.call('HGET', k_ids(sid), 'next') or '1')
local len = redis.call('LLEN', k_mail(sid))
local first = nxt - len
local start = tonumber(arg(2)) + 1 - first
if start < 0 then start = 0 end
local msgs = {}
if start < len then msgs = redis.call('LRANGE', k_mail(sid), start, -1) end
return {first, nxt, first + start, msgs}
`),

  /** (sid, upToId) → the highest acknowledged id; acknowledged messages are dropped. */
  ack: new LuaScript("mailbox_ack", `
local sid = arg(1)
if redis.call('EXISTS', k_ids(sid)) == 0 then return 0 end
local nxt = tonumber(redis.call('HGET', k_ids(sid), 'next') or '1')
local acked = tonumber(redis.call('HGET', k_ids(sid), 'acked') or '0')
local up = tonumber(arg(2))
if up >= nxt then up = nxt - 1 end
if up > acked then
  acked = up
  redis.call('HSET', k_ids(sid), 'acked', acked)
end
local len = redis.call('LLEN', k_mail(sid))
local drop = acked - (nxt - len) + 1
if drop >= len then
  redis.call('DEL', k_mail(sid))
elseif drop > 0 then
  redis.call('LTRIM', k_mail(sid), drop, -1)
end
return acked
`),
};
