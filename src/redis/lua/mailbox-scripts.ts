import { LuaScript } from "../lua-script.js";
import { FORWARDED, FOUND, OVERFLOW } from "../outcome-flags.js";
import { ENQUEUE_SHARED } from "./enqueue-shared.js";

// A missing \`mailbox:<sid>:ids\` starts at 1 in every enqueue below: a participant has none until its first
// message, so the script cannot tell that from a counter Redis lost (evicted, or rolled back with the rest).
// Making joins create it would cost every join a write and still not give the lost value back. The node
// holding the participant does know it: its cursor reports an id it already delivered (IdRegressions), and
// the node raises the counter above it and queues the message again (RegressionRecovery).
// Appends one message to a participant's mailbox: {sid, node_id, id, overflow, forwarded}. An away
// participant's mailbox overflows past `limit` messages or `away_max` bytes queued since it went away.
const PUSH = `
local function push(sid, limit, away_max, response, from)
  local f = redis.call('HMGET', k_part(sid), 'node_id', 'away_until')
  local id = tonumber(redis.call('HGET', k_ids(sid), 'next') or '1')
  redis.call('HSET', k_ids(sid), 'next', id + 1)
  local len = redis.call('RPUSH', k_mail(sid), response)
  local away = tonumber(f[2] or '0') > 0
  local overflow = 0
  if away and away_over(sid, #response, away_max) then overflow = 1 end
  if len > limit then
    if away then overflow = 1 end
    redis.call('LTRIM', k_mail(sid), len - limit, -1)
  end
  touch_part(sid, LEASE)
  local node = f[1] or ''
  return {sid, node, id, overflow, forward(from, node, sid, id, response)}
end
`;

/**
 * Mailbox scripts. `mailbox:<sid>` holds the messages with contiguous ids ending at next-1, so a
 * message's id is its position: first = next - LLEN.
 */
export const mailboxScripts = {
  /**
   * (n, limit, awayMax, from, messages) → {outcomes, sid1, node1, sid2, node2, ...}, where `messages` packs n ×
   * (room, identity, response) as `EnqueueBatchWriter` (protocol/enqueue-batch.ts) writes them. The reply lists
   * the recipients once each, and `outcomes`, ENQUEUE_OUTCOME_BYTES per message in call order: a flags
   * byte (0 no such participant, else FOUND | FORWARDED | OVERFLOW, outcome-flags.ts), the 1-based index of
   * its recipient in the list, and its id as a big-endian double. Each message is queued as if enqueued on its own. The
   * reply is packed because a node decodes one per batch of relays: a table per message cost it more
   * garbage (and GC time) than the rest of the relay. A participant's routing facts and next id are read
   * once per batch and its next id written once; messages for other nodes than `from` are published, one
   * envelope per node.
   */
  enqueueBatch: new LuaScript("mailbox_enqueue_batch", `${ENQUEUE_SHARED}
-- The TTLs are not rewritten per message (six of the eleven calls a message cost): the node holding
-- a participant re-asserts its records every sync, and an away participant's last past its deadline. Only
-- a key this script creates (a mailbox emptied by acks, a first id) gets one (\`expire_created\`).
local n, limit, away_max, from, packed = tonumber(arg(1)), tonumber(arg(2)), tonumber(arg(3)), arg(4), arg(5)
local at = 1
local sids = {}
local facts = {}
local touched = {}
-- Per message: its recipient's facts, its place among that recipient's messages, its id, forwarded or not.
local m_f, m_k, m_id, m_fwd = {}, {}, {}, {}
for i = 1, n do
  local room, identity, response
  room, identity, response, at = struct.unpack('>Hc0Hc0I4c0', packed, at)
  local by_identity = sids[room]
  if not by_identity then
    by_identity = {}
    sids[room] = by_identity
  end
  local sid = by_identity[identity]
  if sid == nil then
    sid = redis.call('HGET', k_sids(room), identity)
    by_identity[identity] = sid
  end
  if sid then
    local f = facts[sid]
    if not f then
      local h = redis.call('HMGET', k_part(sid), 'node_id', 'away_until')
      local nxt = redis.call('HGET', k_ids(sid), 'next')
      touched[#touched + 1] = sid
      -- node, away, next id, ids key is new, mailbox is new, index in the reply, responses to push,
      -- and (set when pushed) the mailbox's length before them
      f = {h[1] or '', tonumber(h[2] or '0') > 0, tonumber(nxt or '1'), not nxt, false, #touched, {}}
      facts[sid] = f
    end
    local id = f[3]
    f[3] = id + 1
    local pending = f[7]
    pending[#pending + 1] = response
    m_f[i], m_k[i], m_id[i] = f, #pending, id
    m_fwd[i] = forward(from, f[1], sid, id, response, i)
  end
end
-- One RPUSH per recipient. Message k of a recipient would have found the mailbox at before + k - 1 had
-- each been pushed (and trimmed to the limit) on its own, so it overflows when before + k > limit.
local reply = {false}
for _, sid in ipairs(touched) do
  local f = facts[sid]
  local pending = f[7]
  local len = redis.call('RPUSH', k_mail(sid), unpack(pending))
  f[8] = len - #pending
  if f[8] == 0 then f[5] = true end
  if f[2] then
    local bytes = 0
    for k = 1, #pending do bytes = bytes + #pending[k] end
    f[9] = away_over(sid, bytes, away_max)
  end
  if len > limit then redis.call('LTRIM', k_mail(sid), len - limit, -1) end
  redis.call('HSET', k_ids(sid), 'next', f[3])
  expire_created(sid, f[4], f[5])
  reply[#reply + 1] = sid
  reply[#reply + 1] = f[1]
end
local vals = {}
for i = 1, n do
  local f = m_f[i]
  if not f then
    vals[3 * i - 2], vals[3 * i - 1], vals[3 * i] = 0, 0, 0
  else
    local overflow = 0
    if f[2] and (f[8] + m_k[i] > limit or f[9]) then overflow = 1 end
    vals[3 * i - 2], vals[3 * i - 1], vals[3 * i] = ${FOUND} + ${FORWARDED} * m_fwd[i] + ${OVERFLOW} * overflow, f[6], m_id[i]
  end
end
reply[1] = pack_outcomes(vals, n)
publish_forwarded(packed, n)
return reply
`),

  /** (room, limit, awayMax, exceptSid, response, from) → list of {sid, node, id, overflow, forwarded}. */
  enqueueRoom: new LuaScript("mailbox_enqueue_room", `${ENQUEUE_SHARED}${PUSH}
local out = {}
for _, sid in ipairs(redis.call('HVALS', k_sids(arg(1)))) do
  if sid ~= arg(4) then out[#out + 1] = push(sid, tonumber(arg(2)), tonumber(arg(3)), arg(5), arg(6)) end
end
publish_forwarded()
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

  /**
   * (n, sid1, upToId1, ..., sidn, upToIdn) → the highest acknowledged id of each, in order; acknowledged
   * messages are dropped. Each pair is applied as if acknowledged on its own (see ack-batcher.ts).
   */
  ackBatch: new LuaScript("mailbox_ack_batch", `
local function ack(sid, up)
  local ids = k_ids(sid)
  local h = redis.call('HMGET', ids, 'next', 'acked')
  -- A hash always has a field: neither means the counters are gone (the participant left).
  if not h[1] and not h[2] then return 0 end
  local nxt, acked = tonumber(h[1] or '1'), tonumber(h[2] or '0')
  if up >= nxt then up = nxt - 1 end
  if up > acked then
    acked = up
    redis.call('HSET', ids, 'acked', acked)
  end
  local mail = k_mail(sid)
  local len = redis.call('LLEN', mail)
  local drop = acked - (nxt - len) + 1
  if drop >= len then
    redis.call('DEL', mail)
  elseif drop > 0 then
    redis.call('LTRIM', mail, drop, -1)
  end
  return acked
end
local out = {}
for i = 1, tonumber(arg(1)) do out[i] = ack(arg(2 * i), tonumber(arg(2 * i + 1))) end
return out
`),
};
