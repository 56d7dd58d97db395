import { isUtf8 } from "node:buffer";
import { decodeUtf8Value } from "./text-encoding.js";
import { WIRE_LEN, WIRE_VARINT, WireReader, lenFieldSize, varintSize, writeLenField, writeVarint, zeroed, type FrameAllocator } from "./wire-bytes.js";

/**
 * The relay fast path, on encoded bytes: offer, answer and trickle are most of the traffic, and relaying
 * them needs only the target, a few lengths, and the sender stamped on. Parsing them here and splicing the
 * response from the request's own bytes avoids a reflective decode, a UTF-8 round trip of the SDP and a
 * re-encode per message. Anything unusual returns undefined and takes the normal (protobuf-es) path, which
 * has the same semantics: client-sent `from`/`from_sid` are dropped, unknown fields are kept.
 *
 * SessionDescription and Trickle share their layout: 1 sdp|candidate, 2 target, 3 call_id, 4 from,
 * 5 from_sid (proto/volly/signaling/v1/signal.proto).
 */
export type RelayKind = "offer" | "answer" | "trickle";

/** A relayable request, parsed. */
export interface RelayRequest {
  readonly kind: RelayKind;
  readonly requestId: number;
  readonly target: string;
  readonly callIdLength: number;
  /** Length of the sdp or candidate. */
  readonly payloadLength: number;
  /** The message's fields minus from/from_sid: [start, end) ranges into `source`. */
  readonly ranges: readonly number[];
  readonly source: Uint8Array;
}

const REQUEST_FIELDS: Record<number, RelayKind> = { 1: "offer", 2: "answer", 3: "trickle" };
const RESPONSE_FIELD: Record<RelayKind, number> = { offer: 3, answer: 2, trickle: 4 };
const REQUEST_ID_FIELD = 100;
const SECURE_REQUEST_FIELD = 22;
const SECURE_RESPONSE_FIELD = 41;

/** Parses an encoded SignalRequest if it is an offer, answer or trickle the fast path can take. */
export function parseRelayRequest(bytes: Uint8Array): RelayRequest | undefined {
  const r = new WireReader(bytes);
  let kind: RelayKind | undefined;
  let start = 0;
  let end = 0;
  let requestId = 0;
  while (!r.done) {
    const tag = r.varint();
    if (tag < 0) return undefined;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    const k = REQUEST_FIELDS[field];
    if (k !== undefined && wire === WIRE_LEN) {
      if (kind !== undefined) return undefined; // several oneof values: leave protobuf's merge rules to the slow path
      const n = r.varint();
      if (n < 0 || r.pos + n > r.end) return undefined;
      kind = k;
      start = r.pos;
      end = r.pos + n;
      r.pos = end;
    } else if (field === REQUEST_ID_FIELD && wire === WIRE_VARINT) {
      requestId = r.varint();
      if (requestId < 0 || requestId > 0xffffffff) return undefined;
    } else {
      return undefined;
    }
  }
  if (kind === undefined) return undefined;
  return parseBody(kind, bytes, start, end, requestId);
}

function parseBody(kind: RelayKind, bytes: Uint8Array, start: number, end: number, requestId: number): RelayRequest | undefined {
  const r = new WireReader(bytes, end);
  r.pos = start;
  const ranges: number[] = [];
  let target = "";
  let callIdLength = 0;
  let payloadLength = 0;
  while (!r.done) {
    const fieldStart = r.pos;
    const tag = r.varint();
    if (tag < 0) return undefined;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field >= 1 && field <= 5) {
      if (wire !== WIRE_LEN) return undefined;
      const n = r.varint();
      if (n < 0 || r.pos + n > end) return undefined;
      // A string that is not UTF-8 takes the normal path, which refuses it (malformed_message): relayed as
      // it was, it reached protobuf receivers as a frame they cannot decode, and again on every resume.
      const ascii = field <= 3 && n <= SHORT_FIELD && isAscii(bytes, r.pos, r.pos + n);
      if (field <= 3 && !ascii && !isUtf8(bytes.subarray(r.pos, r.pos + n))) return undefined;
      if (field === 1) payloadLength = n;
      else if (field === 2) target = ascii ? asciiString(bytes, r.pos, r.pos + n) : decodeUtf8Value(bytes.subarray(r.pos, r.pos + n));
      else if (field === 3) callIdLength = n;
      r.pos += n;
      if (field >= 4) continue; // client-sent from/from_sid are ignored
    } else if (!r.skip(wire)) {
      return undefined;
    }
    const last = ranges.length - 1;
    if (last >= 0 && ranges[last] === fieldStart) ranges[last] = r.pos;
    else ranges.push(fieldStart, r.pos);
  }
  return { kind, requestId, target, callIdLength, payloadLength, ranges, source: bytes };
}

/**
 * A target or call id is usually a few ASCII characters: checked and read in place, without the views of
 * the bytes that `isUtf8` and a TextDecoder need (Buffer views were the relay's largest own cost in its
 * profile after the write system calls and garbage collection).
 */
const SHORT_FIELD = 64;

function isAscii(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if ((bytes[i] as number) >= 0x80) return false;
  return true;
}

function asciiString(bytes: Uint8Array, start: number, end: number): string {
  return bytes instanceof Buffer ? bytes.toString("latin1", start, end) : String.fromCharCode(...bytes.subarray(start, end));
}

/**
 * The sender's stamp, `from` (field 4) and `from_sid` (field 5) as encoded fields: built once per
 * participant, appended to each relayed message in one copy. A byte string (one char per byte, each below
 * 256), not a Uint8Array: a connection keeps it for its whole life, and a short one-byte string costs a
 * quarter of what a small typed array and its ArrayBuffer do.
 */
export function senderFields(from: Uint8Array, fromSid: Uint8Array): string {
  const out = new Uint8Array(lenFieldSize(4, from.length) + lenFieldSize(5, fromSid.length));
  writeLenField(out, writeLenField(out, 0, 4, from), 5, fromSid);
  let stamp = "";
  // In pieces: an argument list has a limit, and a name of up to 64 KiB is allowed.
  for (let i = 0; i < out.length; i += 4096) stamp += String.fromCharCode(...out.subarray(i, i + 4096));
  return stamp;
}

/**
 * The encoded SignalResponse relaying `request`, stamped with the sender (`senderFields`; no message_id yet).
 * It comes from Node's buffer pool, not zeroed (every byte is written below): a fresh zeroed array per
 * relayed message cost the senders' node about half a microsecond, mostly in the young generation's
 * collections. A store that keeps it long keeps a copy of its own (see memory-rooms.ts), since a slice
 * keeps its whole pool chunk alive.
 */
export function buildRelayResponse(request: RelayRequest, sender: string): Uint8Array {
  let bodyLength = 0;
  for (let i = 0; i < request.ranges.length; i += 2) bodyLength += (request.ranges[i + 1] as number) - (request.ranges[i] as number);
  bodyLength += sender.length;
  const outer = RESPONSE_FIELD[request.kind];
  const out = Buffer.allocUnsafe(varintSize(outer * 8 + WIRE_LEN) + varintSize(bodyLength) + bodyLength);
  let pos = writeVarint(out, 0, outer * 8 + WIRE_LEN);
  pos = writeVarint(out, pos, bodyLength);
  for (let i = 0; i < request.ranges.length; i += 2) {
    const s = request.ranges[i] as number;
    const e = request.ranges[i + 1] as number;
    out.set(request.source.subarray(s, e), pos);
    pos += e - s;
  }
  for (let i = 0; i < sender.length; i++) out[pos + i] = sender.charCodeAt(i);
  return out;
}

/** A `secure` record sent by a client, parsed from an encoded SignalRequest. */
export interface SecureRequest {
  readonly epoch: number;
  /** A number: sequence numbers stay far below 2^53 (an epoch holds at most 2^32 records), and a BigInt per record was garbage. */
  readonly seq: number;
  readonly ciphertext: Uint8Array;
}

/** Parses an encoded SignalRequest that is exactly a `secure` record; undefined for anything else. */
export function parseSecureRequest(bytes: Uint8Array): SecureRequest | undefined {
  return parseSecureRecord(bytes, SECURE_REQUEST_FIELD);
}

/** Parses an encoded SignalResponse that is exactly a `secure` record (the SDK side of the fast path). */
export function parseSecureResponse(bytes: Uint8Array): SecureRequest | undefined {
  return parseSecureRecord(bytes, SECURE_RESPONSE_FIELD);
}

function parseSecureRecord(bytes: Uint8Array, field: number): SecureRequest | undefined {
  const r = new WireReader(bytes);
  const tag = r.varint();
  if (tag !== field * 8 + WIRE_LEN) return undefined;
  const n = r.varint();
  if (n < 0 || r.pos + n !== bytes.length) return undefined;
  const inner = new WireReader(bytes, bytes.length);
  inner.pos = r.pos;
  let epoch = 0;
  let seq = 0;
  let ciphertext: Uint8Array | undefined;
  while (!inner.done) {
    const t = inner.varint();
    if (t === 1 * 8 + WIRE_VARINT) epoch = inner.varint();
    else if (t === 2 * 8 + WIRE_VARINT) seq = inner.varint();
    else if (t === 3 * 8 + WIRE_LEN) {
      const len = inner.varint();
      if (len < 0 || inner.pos + len > bytes.length) return undefined;
      ciphertext = bytes.subarray(inner.pos, inner.pos + len);
      inner.pos += len;
    } else return undefined;
    if (epoch < 0 || seq < 0 || epoch > 0xffffffff || seq > Number.MAX_SAFE_INTEGER) return undefined;
  }
  return ciphertext === undefined ? undefined : { epoch, seq, ciphertext };
}

/**
 * `SignalResponse{secure{epoch, seq, ciphertext}}` with room for a ciphertext of `ciphertextLength` bytes as
 * its last bytes, left to fill: the sender writes the plaintext there and seals it in place, so a record is
 * built with one allocation and no copy of the ciphertext. Every byte before that room is written here.
 */
export function secureResponseFrame(epoch: number, seq: number, ciphertextLength: number, alloc: FrameAllocator = zeroed): Uint8Array {
  return secureFrame(SECURE_RESPONSE_FIELD, epoch, seq, ciphertextLength, alloc);
}

/** The request-side twin of `secureResponseFrame` (the SDK side of the fast path). */
export function secureRequestFrame(epoch: number, seq: number, ciphertextLength: number): Uint8Array {
  return secureFrame(SECURE_REQUEST_FIELD, epoch, seq, ciphertextLength, zeroed);
}

function secureFrame(field: number, epoch: number, seq: number, ciphertextLength: number, alloc: FrameAllocator): Uint8Array {
  const innerLength = (epoch > 0 ? 1 + varintSize(epoch) : 0) + (seq > 0 ? 1 + varintSize(seq) : 0) + lenFieldSize(3, ciphertextLength);
  const out = alloc(varintSize(field * 8 + WIRE_LEN) + varintSize(innerLength) + innerLength);
  let pos = writeVarint(out, 0, field * 8 + WIRE_LEN);
  pos = writeVarint(out, pos, innerLength);
  if (epoch > 0) {
    out[pos++] = 1 * 8 + WIRE_VARINT;
    pos = writeVarint(out, pos, epoch);
  }
  if (seq > 0) {
    out[pos++] = 2 * 8 + WIRE_VARINT;
    pos = writeVarint(out, pos, seq);
  }
  out[pos++] = 3 * 8 + WIRE_LEN;
  writeVarint(out, pos, ciphertextLength);
  return out;
}
