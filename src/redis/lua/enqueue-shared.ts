/*
 * What the two enqueue scripts share (mailbox-scripts.ts, pushed-enqueue-script.ts). `routing` and
 * `pack_outcomes` are per message, for the script that reads the batch (`enqueueBatch`); the pushed
 * script works per recipient and builds its own.
 *
 * Forwarding: a message for a participant held by another node than the caller (`from`) is published to
 * that node's bus channel by the same script that queues it, so a relay costs one command, not two. The
 * envelopes are the protobufs of internal.proto, written by hand: Delivery {1: sid, 2: message_id,
 * 3: response}; BusEnvelope {1: delivery} for one message, BusEnvelope {3: DeliveryBatch {1: delivery...}}
 * for several to the same node. A node's messages go out in id order, one envelope per node per script.
 *
 * When at least half of a packed batch's response bytes, and 4 KiB or more, are for one node, it gets instead
 * BusEnvelope {4: BatchRouting {1: RoutedMessage {1: index, 2: sid, 3: message_id}..., 2: count,
 * 3: bytes}} and then the packed batch itself, unchanged: building an envelope means copying every
 * response into a new Lua string, which costs Redis's Lua 1.4–4.6 ns per byte (collector running or
 * not), against a fraction of that for the C copy PUBLISH makes; it had been a third of the script's time.
 */
export const ENQUEUE_SHARED = `
-- Counts \`bytes\` more queued for an away participant (\`set_away\` starts the count at 0); true once more
-- than \`max\` arrived since it went away: its mailbox overflows (MailboxLimits.awayBytes).
local function away_over(sid, bytes, max)
  return redis.call('HINCRBY', k_ids(sid), 'away_bytes', bytes) > max
end
-- Gives the keys an enqueue created (its first id, a mailbox emptied by acks) the TTL of the participant's
-- record (at least the lease).
local function expire_created(sid, ids_new, mailbox_new)
  if not ids_new and not mailbox_new then return end
  local t = redis.call('PTTL', k_part(sid))
  if t < LEASE then t = LEASE end
  if ids_new then redis.call('PEXPIRE', k_ids(sid), t) end
  if mailbox_new then redis.call('PEXPIRE', k_mail(sid), t) end
end

local fwd, fwd_nodes = {}, {}
local function varint(x)
  -- Lengths and ids: one or two bytes almost always, without a table.
  if x < 128 then return string.char(x) end
  if x < 16384 then return string.char(x % 128 + 128, math.floor(x / 128)) end
  local b = {}
  while x >= 128 do
    b[#b + 1] = string.char(x % 128 + 128)
    x = math.floor(x / 128)
  end
  b[#b + 1] = string.char(x)
  return table.concat(b)
end
-- 1 when the message was queued for publishing to node, 0 when routing it is the caller's. i is its
-- position in the script's packed batch (nil when there is none).
local function forward(from, node, sid, id, response, i)
  if from == '' or node == '' or node == from then return 0 end
  local e = fwd[node]
  if not e then
    e = {sid = {}, id = {}, response = {}, index = {}, bytes = 0}
    fwd[node] = e
    fwd_nodes[#fwd_nodes + 1] = node
  end
  local k = #e.sid + 1
  e.sid[k], e.id[k], e.response[k], e.index[k] = sid, id, response, i
  e.bytes = e.bytes + #response
  return 1
end
-- BusEnvelope {1: delivery} or {3: deliveries}, joined once, so a response is copied once.
local function envelope(e)
  local parts, len = {''}, 0
  for k = 1, #e.sid do
    local sid, response = e.sid[k], e.response[k]
    local v_sid, v_id, v_resp = varint(#sid), varint(e.id[k]), varint(#response)
    local n = 1 + #v_sid + #sid + 1 + #v_id + 1 + #v_resp + #response
    local v_n = varint(n)
    parts[2 * k] = '\\10' .. v_n .. '\\10' .. v_sid .. sid .. '\\16' .. v_id .. '\\26' .. v_resp
    parts[2 * k + 1] = response
    len = len + 1 + #v_n + n
  end
  if #e.sid > 1 then parts[1] = '\\26' .. varint(len) end
  return table.concat(parts)
end
-- BusEnvelope {4: routing} for the packed batch (of batch_bytes bytes, count messages) that is published next.
-- One new string per message: a recipient's sid field is built once, and Lua's garbage (every string is
-- hashed, interned and later swept) was a large part of what a script cost Redis.
local function routing(e, batch_bytes, count)
  local parts, sid_fields = {}, {}
  for k = 1, #e.sid do
    local sid = e.sid[k]
    local sf = sid_fields[sid]
    if not sf then
      sf = '\\18' .. varint(#sid) .. sid
      sid_fields[sid] = sf
    end
    local vi, vd = varint(e.index[k] - 1), varint(e.id[k])
    parts[k] = '\\10' .. varint(2 + #vi + #sf + #vd) .. '\\8' .. vi .. sf .. '\\24' .. vd
  end
  parts[#parts + 1] = '\\16' .. varint(count) .. '\\24' .. varint(batch_bytes)
  local body = table.concat(parts)
  return '\\34' .. varint(#body) .. body
end
-- The packed outcomes of n messages (ENQUEUE_OUTCOME_BYTES each) from vals: flags, recipient index and
-- id of each, in order; one string for the batch rather than a few per message.
local function pack_outcomes(vals, n)
  if n == 0 then return '' end
  return struct.pack('>' .. string.rep('BBd', n), unpack(vals, 1, 3 * n))
end
-- Below this a copy costs less than the second message (another PUBLISH here, another reply to parse there).
local ROUTE_WHOLE_BYTES = 4096
local function publish_forwarded(batch, count)
  for _, node in ipairs(fwd_nodes) do
    local e = fwd[node]
    local channel = k_bus_node(node)
    if batch and e.bytes >= ROUTE_WHOLE_BYTES and 2 * e.bytes >= #batch then
      redis.call('PUBLISH', channel, routing(e, #batch, count))
      redis.call('PUBLISH', channel, batch)
    else
      redis.call('PUBLISH', channel, envelope(e))
    end
  end
end
`;

