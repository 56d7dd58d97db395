import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { StoredParticipantSchema } from "../../gen/volly/signaling/v1/internal_pb.js";
import { ParticipantInfoSchema } from "../../gen/volly/signaling/v1/models_pb.js";
import { ParticipantUpdateSchema, SignalResponseSchema } from "../../gen/volly/signaling/v1/signal_pb.js";
import type { RosterRecord } from "../protocol/roster-frames.js";
import { WIRE_LEN, WireReader } from "../protocol/wire-bytes.js";

/**
 * A room holds one participant per identity, so a participant never needs to hear of another sid of its own
 * identity: that can only be a predecessor it replaced, or a successor replacing it (which ends its
 * connection). The room's announcements cannot keep it from hearing one: they leave out a sid, not an
 * identity, and across nodes a predecessor's own JOINED can be queued after the newcomer is in the room,
 * while the predecessor's departure leaves the newcomer out. The newcomer would list a copy of itself for
 * good. So the participant's own stream leaves such entries out, whatever order they were queued in.
 */
export interface StreamOwner {
  readonly identity: string;
  readonly sid: string;
}

const tagOf = (field: number): number => (field << 3) | WIRE_LEN;
const UPDATE_TAG = tagOf(SignalResponseSchema.field.participantUpdate.number);
const PARTICIPANTS_TAG = tagOf(ParticipantUpdateSchema.field.participants.number);
const INFO_TAG = tagOf(StoredParticipantSchema.field.info.number);
const SID_TAG = tagOf(ParticipantInfoSchema.field.sid.number);
const IDENTITY_TAG = tagOf(ParticipantInfoSchema.field.identity.number);

const utf8 = new TextEncoder();

/**
 * A mailbox message (an encoded SignalResponse without message_id) as `owner` may get it: the same bytes
 * unless it is a `participant_update` about another sid of the owner's identity; then without those
 * entries, possibly none left. Still sent, not dropped: the client's message ids go up by one.
 * Other messages cost one byte's comparison.
 */
export function withoutOtherSelves(response: Uint8Array, owner: StreamOwner): Uint8Array {
  // The tag of field 5 is one varint byte, so any other message costs one comparison and no allocation.
  if (response[0] !== UPDATE_TAG) return response;
  const r = new WireReader(response);
  r.pos = 1;
  const length = r.varint();
  if (length < 0 || r.pos + length > r.end) return response;
  const update = new WireReader(response, r.pos + length);
  update.pos = r.pos;
  const identity = utf8.encode(owner.identity);
  const sid = utf8.encode(owner.sid);
  let found = false;
  while (!update.done && !found) {
    const tag = update.varint();
    if (tag !== PARTICIPANTS_TAG) {
      if (tag < 0 || !update.skip(tag & 7)) return response;
      continue;
    }
    const info = field(update);
    if (info === undefined) return response;
    const ids = idsOf(info);
    found = ids !== undefined && sameBytes(ids.identity, identity) && !sameBytes(ids.sid, sid);
  }
  if (!found) return response;
  const decoded = fromBinary(SignalResponseSchema, response);
  if (decoded.message.case !== "participantUpdate") return response;
  const kept = decoded.message.value.participants.filter((p) => p.identity !== owner.identity || p.sid === owner.sid);
  decoded.message.value.participants = kept;
  return toBinary(SignalResponseSchema, decoded);
}

/**
 * `roster` (stored records) without any of `identity`: `join` and `reconnect` list the others, and the one
 * record of the participant's identity is its own, or, on a resume overtaken by a duplicate, its successor's.
 * The same array when there is none (always, on a join: the store keeps one record per identity).
 */
export function rosterWithoutIdentity(roster: RosterRecord[], identity: string): RosterRecord[] {
  const own = utf8.encode(identity);
  const isOwn = (entry: RosterRecord): boolean => {
    const r = new WireReader(entry.record);
    while (!r.done) {
      const tag = r.varint();
      if (tag === INFO_TAG) {
        const info = field(r);
        const ids = info === undefined ? undefined : idsOf(info);
        return ids !== undefined && sameBytes(ids.identity, own);
      }
      if (tag < 0 || !r.skip(tag & 7)) return false;
    }
    return false;
  };
  return roster.some(isOwn) ? roster.filter((entry) => !isOwn(entry)) : roster;
}

/** The bytes of the length-delimited value at `r` (its tag read), or undefined when malformed. */
function field(r: WireReader): Uint8Array | undefined {
  const n = r.varint();
  if (n < 0 || r.pos + n > r.end) return undefined;
  const value = r.buf.subarray(r.pos, r.pos + n);
  r.pos += n;
  return value;
}

/** An encoded ParticipantInfo's sid and identity (empty when absent), or undefined when malformed. */
function idsOf(info: Uint8Array): { sid: Uint8Array; identity: Uint8Array } | undefined {
  const r = new WireReader(info);
  let sid: Uint8Array = new Uint8Array(0);
  let identity: Uint8Array = new Uint8Array(0);
  while (!r.done) {
    const tag = r.varint();
    if (tag === SID_TAG || tag === IDENTITY_TAG) {
      const value = field(r);
      if (value === undefined) return undefined;
      if (tag === SID_TAG) sid = value;
      else identity = value;
    } else if (tag < 0 || !r.skip(tag & 7)) return undefined;
  }
  return { sid, identity };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
