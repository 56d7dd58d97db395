import { LuaScript } from "../lua-script.js";
import { ENQUEUE_SHARED } from "./enqueue-shared.js";

/**
 * The second half of a pushed enqueue batch (`PushedBatchSender`, pushed-batch.ts): in one MULTI the node has
 * just RPUSHed each recipient's responses onto the mailbox of the sid it last knew for that recipient, and
 * this script gives them their ids as `mailboxScripts.enqueueBatch` would have. The responses never pass
 * through Lua: Redis's Lua hashes every byte of every string it makes (Redis hashes whole strings against
 * collision attacks), and in `enqueueBatch` each response was made into a string twice, the packed
 * argument and the piece `struct.unpack` cut from it, which was a third of what Redis spent on a
 * cross-node relay.
 *
 * (n, limit, from, pubNode, batchBytes, meta) → the reply of `enqueueBatch`. `meta` packs a u16 group
 * count, per group (recipient) its room, identity and the sid the node pushed to (u16 length + bytes
 * each) and its message count (u16), then per message its 1-based group (u16), in call order. When the
 * sid is no longer the identity's (the participant left or was replaced), the pushed responses are taken
 * back off that mailbox (which then disappears, as the gone participant's had) and queued for the current
 * participant, if any, from Lua. Messages for `pubNode` are routed (`BatchRouting`) in the batch the
 * caller publishes to it right after this script, in the same MULTI; the routing is published even when
 * empty, so the batch never arrives unannounced. Messages for any other node are published as envelopes,
 * their bytes read back from the mailbox.
 */
export const pushedEnqueueScript = new LuaScript("mailbox_enqueue_pushed", `${ENQUEUE_SHARED}
local n, limit, from, pub, batch_bytes, meta = tonumber(arg(1)), tonumber(arg(2)), arg(3), arg(4), tonumber(arg(5)), arg(6)
local reply = {false}
local groups = {}
local g_count, at = struct.unpack('>H', meta)
for g = 1, g_count do
  local room, identity, pushed_sid, count
  room, identity, pushed_sid, count, at = struct.unpack('>Hc0Hc0Hc0H', meta, at)
  local sid = redis.call('HGET', k_sids(room), identity)
  local len, bytes
  if sid == pushed_sid then
    len = redis.call('LLEN', k_mail(sid))
  else
    local popped = redis.call('RPOP', k_mail(pushed_sid), count)
    bytes = {}
    for k = 1, count do bytes[k] = popped[count + 1 - k] end
    if sid then len = redis.call('RPUSH', k_mail(sid), unpack(bytes)) end
  end
  if sid then
    local h = redis.call('HMGET', k_part(sid), 'node_id', 'away_until')
    local nxt = redis.call('HGET', k_ids(sid), 'next')
    local first = tonumber(nxt or '1')
    redis.call('HSET', k_ids(sid), 'next', first + count)
    local node = h[1] or ''
    if not bytes and from ~= '' and node ~= '' and node ~= from and node ~= pub then
      bytes = redis.call('LRANGE', k_mail(sid), -count, -1)
    end
    local before = len - count
    if len > limit then redis.call('LTRIM', k_mail(sid), len - limit, -1) end
    expire_created(sid, not nxt, before == 0)
    reply[#reply + 1] = sid
    reply[#reply + 1] = node
    -- sid, node, away, first id, mailbox length before, index in the reply, bytes (when needed), messages seen
    groups[g] = {sid, node, tonumber(h[2] or '0') > 0, first, before, (#reply - 1) / 2, bytes, 0}
  else
    groups[g] = false
  end
end
local routed = {sid = {}, id = {}, index = {}}
local vals = {}
for i = 1, n do
  local g
  g, at = struct.unpack('>H', meta, at)
  local f = groups[g]
  if not f then
    vals[3 * i - 2], vals[3 * i - 1], vals[3 * i] = 0, 0, 0
  else
    local k = f[8] + 1
    f[8] = k
    local id = f[4] + k - 1
    local fwd = 0
    if f[2] == pub and pub ~= '' then
      local r = #routed.sid + 1
      routed.sid[r], routed.id[r], routed.index[r] = f[1], id, i
      fwd = 1
    elseif f[7] then
      fwd = forward(from, f[2], f[1], id, f[7][k], i)
    end
    local overflow = 0
    if f[3] and f[5] + k > limit then overflow = 1 end
    vals[3 * i - 2], vals[3 * i - 1], vals[3 * i] = 1 + 2 * fwd + 4 * overflow, f[6], id
  end
end
reply[1] = pack_outcomes(vals, n)
if pub ~= '' then redis.call('PUBLISH', k_bus_node(pub), routing(routed, batch_bytes, n)) end
publish_forwarded(nil, n)
return reply
`, { helpers: false });
