import { WIRE_LEN, WIRE_VARINT, WireReader, varintSize, writeVarint } from "./wire-bytes.js";

// Field numbers of the messages read or written here (internal.proto, models.proto, signal.proto); a test
// holds them against the generated schemas.
export const STORED_INFO = 1;
export const INFO_SID = 1;
export const INFO_PERMISSION = 8;
export const PERMISSION_HIDDEN = 4;
/** `other_participants` in both `JoinResponse` and `ReconnectResponse`. */
export const OTHER_PARTICIPANTS = 3;

/** A participant of the room as the store keeps it: an encoded `StoredParticipant`. */
export interface RosterRecord {
  readonly record: Uint8Array;
}

/** What of a stored record the roster needs: its `ParticipantInfo` bytes, sid bytes and hidden flag. */
interface Located {
  readonly info: Uint8Array;
  readonly sid: Uint8Array;
  readonly hidden: boolean;
}

const ascii = new TextEncoder();

/**
 * `JoinResponse` or `ReconnectResponse` (`head`: everything but `other_participants`, encoded) as the
 * SignalResponse field `field`, with the room's other participants copied in from their stored records
 * as they are. Decoding and re-encoding them cost a resume in a room of 2,000 about 20 ms of CPU; copying
 * costs a scan of their outer fields. The participant `selfSid` is left out, as are hidden ones. One whose
 * connection dropped is listed as it is stored, JOINED: the room is not told of a drop or a resume (they
 * would cost a message to everyone in it), so a later joiner must see what the others see.
 */
export function startResponseWithRoster(field: number, head: Uint8Array, roster: readonly RosterRecord[], selfSid: string): Uint8Array {
  const self = ascii.encode(selfSid);
  const listed: Uint8Array[] = [];
  let othersLength = 0;
  for (const entry of roster) {
    const found = locate(entry.record);
    if (found === undefined || found.hidden || sameBytes(found.sid, self)) continue;
    othersLength += 1 + varintSize(found.info.length) + found.info.length;
    listed.push(found.info);
  }
  const messageLength = head.length + othersLength;
  const tag = (field << 3) | WIRE_LEN;
  const out = new Uint8Array(varintSize(tag) + varintSize(messageLength) + messageLength);
  let pos = writeVarint(out, 0, tag);
  pos = writeVarint(out, pos, messageLength);
  out.set(head, pos);
  pos += head.length;
  for (const info of listed) {
    out[pos++] = (OTHER_PARTICIPANTS << 3) | WIRE_LEN;
    pos = writeVarint(out, pos, info.length);
    out.set(info, pos);
    pos += info.length;
  }
  return out;
}

/**
 * The parts of a stored record the roster needs, or undefined for a record without info (never listed).
 * Records come from this server's own encoder, which writes each message field once; a record that does
 * not parse is a corrupt store, and fails the join rather than being left out unnoticed.
 */
function locate(record: Uint8Array): Located | undefined {
  const info = lengthDelimited(record, STORED_INFO);
  if (info === undefined) return undefined;
  const permission = lengthDelimited(info, INFO_PERMISSION);
  return {
    info,
    sid: lengthDelimited(info, INFO_SID) ?? new Uint8Array(0),
    hidden: permission !== undefined && varintField(permission, PERMISSION_HIDDEN) !== 0,
  };
}

/** The last occurrence of length-delimited field `field` in `bytes` (protobuf's rule for a singular field). */
function lengthDelimited(bytes: Uint8Array, field: number): Uint8Array | undefined {
  const r = new WireReader(bytes);
  let found: Uint8Array | undefined;
  while (!r.done) {
    const tag = r.varint();
    if (tag < 0) throw corrupt();
    if (tag === ((field << 3) | WIRE_LEN)) {
      const n = r.varint();
      if (n < 0 || r.pos + n > r.end) throw corrupt();
      found = bytes.subarray(r.pos, r.pos + n);
      r.pos += n;
    } else {
      skipField(r, tag & 7);
    }
  }
  return found;
}

/** The last value of varint field `field` in `bytes`, 0 when absent (proto3's default). */
function varintField(bytes: Uint8Array, field: number): number {
  const r = new WireReader(bytes);
  let value = 0;
  while (!r.done) {
    const tag = r.varint();
    if (tag < 0) throw corrupt();
    if (tag === ((field << 3) | WIRE_VARINT)) {
      value = r.varint();
      if (value < 0) throw corrupt();
    } else {
      skipField(r, tag & 7);
    }
  }
  return value;
}

/** Skips a field's value. Varints may take ten bytes (a negative int64), past what `WireReader.varint` reads. */
function skipField(r: WireReader, wire: number): void {
  if (wire !== WIRE_VARINT) {
    if (!r.skip(wire)) throw corrupt();
    return;
  }
  for (let i = 0; i < 10; i++) {
    if (r.pos >= r.end) break;
    if ((r.buf[r.pos++] as number) < 0x80) return;
  }
  throw corrupt();
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function corrupt(): Error {
  return new Error("stored participant record does not parse");
}
