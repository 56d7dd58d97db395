import { responseSpans } from "./enqueue-batch.js";
import { decodeUtf8Value } from "./text-encoding.js";
import { WIRE_LEN, WIRE_VARINT, WireReader } from "./wire-bytes.js";

/**
 * Reads the deliveries of a `BusEnvelope` (internal.proto) straight from its bytes: a node receiving relays
 * from other nodes gets them as envelopes of dozens of `Delivery {1: sid, 2: message_id, 3: response}`, and
 * a reflective decode built a message object, a zeroed copy of each field and a BigInt per delivery.
 *
 * Handles `delivery` (field 1) and `deliveries` (field 3, a DeliveryBatch of field-1 Deliveries) with exactly
 * these fields; returns false, having called nothing, for anything else (a disconnect, unknown fields,
 * an id past 2^53, a malformed envelope), which the caller then decodes with protobuf-es. The envelope is
 * checked whole before the first delivery is handed out, so a bad tail cannot deliver half of it twice.
 */
export function forEachBusDelivery(payload: Uint8Array, deliver: (sid: string, messageId: bigint, response: Uint8Array) => void): boolean {
  const r = new WireReader(payload);
  const tag = r.varint();
  const length = r.varint();
  if (length < 0 || r.pos + length !== payload.length) return false;
  if (tag === 1 * 8 + WIRE_LEN) {
    if (!visitDelivery(payload, r.pos, payload.length, undefined)) return false;
    visitDelivery(payload, r.pos, payload.length, deliver);
    return true;
  }
  if (tag !== 3 * 8 + WIRE_LEN) return false;
  const start = r.pos;
  if (!visitBatch(payload, start, undefined)) return false;
  visitBatch(payload, start, deliver);
  return true;
}

type Deliver = (sid: string, messageId: bigint, response: Uint8Array) => void;

function visitBatch(payload: Uint8Array, start: number, deliver: Deliver | undefined): boolean {
  const r = new WireReader(payload);
  r.pos = start;
  while (!r.done) {
    if (r.varint() !== 1 * 8 + WIRE_LEN) return false;
    const n = r.varint();
    if (n < 0 || r.pos + n > payload.length) return false;
    if (!visitDelivery(payload, r.pos, r.pos + n, deliver)) return false;
    r.pos += n;
  }
  return true;
}

function visitDelivery(payload: Uint8Array, start: number, end: number, deliver: Deliver | undefined): boolean {
  const r = new WireReader(payload, end);
  r.pos = start;
  let sidStart = 0;
  let sidEnd = 0;
  let messageId = 0;
  let responseStart = 0;
  let responseEnd = 0;
  while (!r.done) {
    const tag = r.varint();
    if (tag === 2 * 8 + WIRE_VARINT) {
      messageId = r.varint();
      if (messageId < 0 || messageId > Number.MAX_SAFE_INTEGER) return false;
      continue;
    }
    if (tag !== 1 * 8 + WIRE_LEN && tag !== 3 * 8 + WIRE_LEN) return false;
    const n = r.varint();
    if (n < 0 || r.pos + n > end) return false;
    if (tag === 1 * 8 + WIRE_LEN) {
      sidStart = r.pos;
      sidEnd = r.pos + n;
    } else {
      responseStart = r.pos;
      responseEnd = r.pos + n;
    }
    r.pos += n;
  }
  // Sids are ASCII written by our own nodes; a broken one decodes to a sid no node holds, and is dropped.
  if (deliver !== undefined) deliver(decodeUtf8Value(payload.subarray(sidStart, sidEnd)), BigInt(messageId), payload.subarray(responseStart, responseEnd));
  return true;
}

/** A `BatchRouting` (internal.proto): the messages of the batch published next that are for this node. */
export interface BatchRouting {
  readonly count: number;
  readonly bytes: number;
  readonly index: number[];
  readonly sid: string[];
  readonly messageId: bigint[];
}

/**
 * The routing of a `BusEnvelope {4: routing}`, read from its bytes; undefined for any other envelope or a
 * malformed one. Routing by recipient (`groups` and `message_groups`) is turned into the per-message form.
 */
export function readBatchRouting(payload: Uint8Array): BatchRouting | undefined {
  const r = new WireReader(payload);
  if (r.varint() !== 4 * 8 + WIRE_LEN) return undefined;
  const length = r.varint();
  if (length < 0 || r.pos + length !== payload.length) return undefined;
  const routing = { count: 0, bytes: 0, index: [] as number[], sid: [] as string[], messageId: [] as bigint[] };
  const groups = new Map<number, RoutedGroup>();
  let messageGroups: Uint8Array | undefined;
  while (!r.done) {
    const tag = r.varint();
    if (tag === 2 * 8 + WIRE_VARINT) routing.count = r.varint();
    else if (tag === 3 * 8 + WIRE_VARINT) routing.bytes = r.varint();
    else if (tag === 1 * 8 + WIRE_LEN || tag === 4 * 8 + WIRE_LEN || tag === 5 * 8 + WIRE_LEN) {
      const n = r.varint();
      if (n < 0 || r.pos + n > payload.length) return undefined;
      if (tag === 5 * 8 + WIRE_LEN) messageGroups = payload.subarray(r.pos, r.pos + n);
      else if (tag === 4 * 8 + WIRE_LEN ? !readRoutedGroup(payload, r.pos, r.pos + n, groups) : !readRoutedMessage(payload, r.pos, r.pos + n, routing)) return undefined;
      r.pos += n;
    } else return undefined;
    if (routing.count < 0 || routing.bytes < 0) return undefined;
  }
  if (messageGroups === undefined) return groups.size === 0 ? routing : undefined;
  // By recipient: the two forms are never mixed, and every message of the batch has its group.
  if (routing.index.length > 0 || messageGroups.length !== 2 * routing.count) return undefined;
  for (let i = 0; i < routing.count; i++) {
    const group = groups.get(((messageGroups[2 * i] as number) << 8) | (messageGroups[2 * i + 1] as number));
    if (group === undefined) continue;
    routing.index.push(i);
    routing.sid.push(group.sid);
    routing.messageId.push(BigInt(group.next++));
  }
  return routing;
}

interface RoutedGroup {
  readonly sid: string;
  /** The id of its next message in the batch. */
  next: number;
}

function readRoutedGroup(payload: Uint8Array, start: number, end: number, into: Map<number, RoutedGroup>): boolean {
  const entry = readRoutedEntry(payload, start, end);
  if (entry === undefined) return false;
  const [group, sid, first] = entry;
  // A batch holds at most 65,535 messages, so ids stay exact past `first`.
  if (group < 1 || group > 0xffff || into.has(group) || first > Number.MAX_SAFE_INTEGER - 0xffff) return false;
  into.set(group, { sid, next: first });
  return true;
}

function readRoutedMessage(payload: Uint8Array, start: number, end: number, into: BatchRouting): boolean {
  const entry = readRoutedEntry(payload, start, end);
  if (entry === undefined) return false;
  const [index, sid, messageId] = entry;
  into.index.push(index);
  into.sid.push(sid);
  into.messageId.push(BigInt(messageId));
  return true;
}

/**
 * A `RoutedMessage {1: index, 2: sid, 3: message_id}` or a `RoutedGroup {1: group, 2: sid, 3: first_message_id}`,
 * which have the same shape; undefined when malformed or a number is past 2^53.
 */
function readRoutedEntry(payload: Uint8Array, start: number, end: number): [number, string, number] | undefined {
  const r = new WireReader(payload, end);
  r.pos = start;
  let first = 0;
  let third = 0;
  let sid = "";
  while (!r.done) {
    const tag = r.varint();
    if (tag === 1 * 8 + WIRE_VARINT) first = r.varint();
    else if (tag === 3 * 8 + WIRE_VARINT) third = r.varint();
    else if (tag === 2 * 8 + WIRE_LEN) {
      const n = r.varint();
      if (n < 0 || r.pos + n > end) return undefined;
      sid = decodeUtf8Value(payload.subarray(r.pos, r.pos + n));
      r.pos += n;
    } else return undefined;
    if (first < 0 || third < 0 || third > Number.MAX_SAFE_INTEGER) return undefined;
  }
  return [first, sid, third];
}

/**
 * Hands out the routed messages of `batch`, the payload that followed `routing`; false, having called
 * nothing, when `batch` is not the batch announced (its length, its message count, an index past it).
 */
export function forEachRoutedDelivery(routing: BatchRouting, batch: Uint8Array, deliver: Deliver): boolean {
  // A message takes at least 8 bytes of its batch: a count past that is not this batch's (and must not size `spans`).
  if (batch.length !== routing.bytes || routing.count * 8 > batch.length) return false;
  const spans = responseSpans(batch, routing.count);
  if (spans === undefined || routing.index.some((i) => i >= routing.count)) return false;
  for (let k = 0; k < routing.index.length; k++) {
    const i = routing.index[k] as number;
    deliver(routing.sid[k] as string, routing.messageId[k] as bigint, batch.subarray(spans[2 * i], spans[2 * i + 1]));
  }
  return true;
}
