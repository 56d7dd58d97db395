import { LuaScript } from "../lua-script.js";
import { AWAY, AWAY_BYTES_OVER, FORWARDED, FOUND } from "../outcome-flags.js";
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
 * (limit, awayMax, from, pubNode, batchBytes, n, meta) → {outcomes, sid1, node1, sid2, node2, ...}. `meta`
 * packs a u16 group count, per group (recipient) its room, identity and the sid the node pushed to (u16
 * length + bytes each), its message count (u16) and their bytes (u32), then per message its 1-based group
 * (u16), in call order. The script works per group, never per message: a group's messages take consecutive
 * ids, so `outcomes` packs per group its flags (found, forwarded, away, past `awayMax` bytes since it went
 * away), its index in the sid/node list, its first id and its
 * mailbox's length before the push (`PUSHED_OUTCOME_BYTES`), from which the node works out each message's
 * outcome, and the routing published to `pubNode` names the groups with the batch's per-message groups as
 * they came (`BatchRouting.groups`, `message_groups`). Per message, Lua's work (unpacking, tables, a
 * string or two each, all hashed) had been most of what the script cost Redis.
 *
 * When the sid is no longer the identity's (the participant left or was replaced), the pushed responses
 * are taken back off that mailbox (which then disappears, as the gone participant's had) and queued for the
 * current participant, if any, from Lua. Groups for `pubNode` are routed in the batch the caller
 * publishes to it right after this script, in the same MULTI; the routing is published even when empty,
 * so the batch never arrives unannounced. Messages for any other node are published as envelopes, their
 * bytes read back from the mailbox.
 */
export const pushedEnqueueScript = new LuaScript("mailbox_enqueue_pushed", `${ENQUEUE_SHARED}
local limit, away_max, from, pub, batch_bytes, n, meta = tonumber(arg(1)), tonumber(arg(2)), arg(3), arg(4), tonumber(arg(5)), tonumber(arg(6)), arg(7)
local reply = {false}
local outcomes, routed = {}, {}
local g_count, at = struct.unpack('>H', meta)
for g = 1, g_count do
  local room, identity, pushed_sid, count, group_bytes
  room, identity, pushed_sid, count, group_bytes, at = struct.unpack('>Hc0Hc0Hc0HI4', meta, at)
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
  local flags, index, first, before = 0, 0, 0, 0
  if sid then
    local h = redis.call('HMGET', k_part(sid), 'node_id', 'away_until')
    local nxt = redis.call('HGET', k_ids(sid), 'next')
    first = tonumber(nxt or '1')
    redis.call('HSET', k_ids(sid), 'next', first + count)
    local node = h[1] or ''
    flags = ${FOUND}
    if tonumber(h[2] or '0') > 0 then
      flags = flags + ${AWAY}
      if away_over(sid, group_bytes, away_max) then flags = flags + ${AWAY_BYTES_OVER} end
    end
    if pub ~= '' and node == pub then
      local body = '\\8' .. varint(g) .. '\\18' .. varint(#sid) .. sid .. '\\24' .. varint(first)
      routed[#routed + 1] = '\\34' .. varint(#body) .. body
      flags = flags + ${FORWARDED}
    elseif from ~= '' and node ~= '' and node ~= from then
      -- Read before the trim below, which may drop some of them.
      if not bytes then bytes = redis.call('LRANGE', k_mail(sid), -count, -1) end
      for k = 1, count do forward(from, node, sid, first + k - 1, bytes[k]) end
      flags = flags + ${FORWARDED}
    end
    before = len - count
    if len > limit then redis.call('LTRIM', k_mail(sid), len - limit, -1) end
    expire_created(sid, not nxt, before == 0)
    reply[#reply + 1] = sid
    reply[#reply + 1] = node
    index = (#reply - 1) / 2
  end
  outcomes[g] = struct.pack('>BBdI4', flags, index, first, before)
end
reply[1] = table.concat(outcomes)
if pub ~= '' then
  routed[#routed + 1] = '\\16' .. varint(n) .. '\\24' .. varint(batch_bytes) .. '\\42' .. varint(2 * n) .. string.sub(meta, at)
  local body = table.concat(routed)
  redis.call('PUBLISH', k_bus_node(pub), '\\34' .. varint(#body) .. body)
end
publish_forwarded(nil, n)
return reply
`, { helpers: false });
