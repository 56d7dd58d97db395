import { clone, create } from "@bufbuild/protobuf";
import { RoomSchema, type Room } from "../../gen/volly/signaling/v1/models_pb.js";
import { StoredCallSchema, StoredParticipantSchema, type StoredCall, type StoredParticipant } from "../../gen/volly/signaling/v1/internal_pb.js";
import { errors } from "../errors.js";
import type { RosterRecord } from "../protocol/roster-frames.js";
import { addConnected } from "./call-connected.js";
import { emptyRoomTimeoutMs } from "./empty-room-timeout.js";
import { pack, unpack, type Packed } from "./compact-records.js";
import { byRoomName } from "./room-order.js";
import type { CallStore, JoinOutcome, MailboxLimits, MailboxStore, ParticipantStore, QueuedMessage, RestoreOutcome, RoomPatch, RoomStore } from "./store.js";

interface RoomEntry {
  room: Room;
  /** By identity. */
  participants: Map<string, Member>;
  calls: Map<string, StoredCall>;
  /**
   * How many of `participants` are hidden: `num_participants` counts only the visible ones (as LiveKit
   * does), or every joiner could tell that an unseen participant is there. Room limits count everyone.
   */
  hidden: number;
  /** When the room became empty (ms); 0 while occupied. */
  emptySince: number;
  /** It became empty by its last participant leaving, not by being created (see `emptyRoomTimeoutMs`). */
  departed: boolean;
}

/**
 * A participant as kept here: the fields the operations read and change, the rest of its record packed (a
 * node keeps one per participant for as long as it is in a room), and its mailbox, which lives and goes
 * with it.
 */
interface Member {
  readonly identity: string;
  readonly sid: string;
  /** From the token, fixed for the participant's life (permission changes are refused). */
  readonly hidden: boolean;
  nodeId: string;
  awayUntil: bigint;
  /** Bytes queued since the participant last went away (see `MailboxLimits.awayBytes`). */
  awayBytes: number;
  /** The record; its node and away fields are the ones above. */
  record: Packed<StoredParticipant>;
  nextId: bigint;
  acked: bigint;
  /** Messages not yet acknowledged, oldest first; none kept while everything is acknowledged. */
  entries: Array<{ id: bigint; response: Uint8Array }> | undefined;
}

function memberOf(p: StoredParticipant, nextId = 1n): Member {
  return {
    identity: p.info?.identity ?? "",
    sid: p.info?.sid ?? "",
    hidden: p.info?.permission?.hidden === true,
    nodeId: p.nodeId,
    awayUntil: p.awayUntil,
    awayBytes: 0,
    record: pack(StoredParticipantSchema, p),
    nextId,
    acked: nextId - 1n,
    entries: undefined,
  };
}

/** A fresh copy of the member's record. */
function recordOf(m: Member): StoredParticipant {
  const p = unpack(StoredParticipantSchema, m.record);
  p.nodeId = m.nodeId;
  p.awayUntil = m.awayUntil;
  return p;
}

function rosterOf(m: Member): RosterRecord {
  return { record: Buffer.from(m.record, "latin1") };
}

/**
 * Rooms, participants, mailboxes and calls in process memory. Every method runs to completion without
 * awaiting, which is what makes each one atomic here. Records are copied in and out so callers can never
 * mutate the stored state.
 */
export class MemoryRooms implements RoomStore, ParticipantStore, MailboxStore, CallStore {
  private readonly rooms = new Map<string, RoomEntry>();
  private readonly bySid = new Map<string, Member>();

  async getRoom(name: string): Promise<Room | undefined> {
    const entry = this.rooms.get(name);
    return entry ? this.roomView(entry) : undefined;
  }

  async listRooms(names: readonly string[] = []): Promise<Room[]> {
    // A name asked for twice is one room.
    const entries = names.length > 0 ? [...new Set(names)].map((n) => this.rooms.get(n)) : [...this.rooms.values()];
    return entries
      .filter((e): e is RoomEntry => e !== undefined)
      .map((e) => this.roomView(e))
      .sort(byRoomName);
  }

  async countRooms(): Promise<number> {
    return this.rooms.size;
  }

  async createRoom(room: Room, maxRooms: number, now: number): Promise<{ room: Room; created: boolean }> {
    const existing = this.rooms.get(room.name);
    if (existing) return { room: this.roomView(existing), created: false };
    if (this.rooms.size >= maxRooms) throw errors.tooManyRooms();
    const entry: RoomEntry = { room: clone(RoomSchema, room), participants: new Map(), calls: new Map(), hidden: 0, emptySince: now, departed: false };
    this.rooms.set(room.name, entry);
    return { room: this.roomView(entry), created: true };
  }

  async updateRoom(name: string, patch: RoomPatch): Promise<Room | undefined> {
    const entry = this.rooms.get(name);
    if (!entry) return undefined;
    if (patch.metadata !== undefined) entry.room.metadata = patch.metadata;
    if (patch.maxParticipants !== undefined) entry.room.maxParticipants = patch.maxParticipants;
    if (patch.emptyTimeout !== undefined) entry.room.emptyTimeout = patch.emptyTimeout;
    if (patch.departureTimeout !== undefined) entry.room.departureTimeout = patch.departureTimeout;
    return this.roomView(entry);
  }

  async deleteRoom(name: string): Promise<StoredParticipant[]> {
    const entry = this.rooms.get(name);
    if (!entry) return [];
    this.rooms.delete(name);
    const removed = [...entry.participants.values()];
    for (const m of removed) this.bySid.delete(m.sid);
    return removed.map(recordOf);
  }

  async deleteExpiredEmptyRooms(now: number): Promise<string[]> {
    const deleted: string[] = [];
    for (const [name, entry] of this.rooms) {
      if (entry.participants.size === 0 && entry.emptySince > 0 && now - entry.emptySince >= emptyRoomTimeoutMs(entry.room, entry.departed)) {
        this.rooms.delete(name);
        deleted.push(name);
      }
    }
    return deleted;
  }

  async joinParticipant(participant: StoredParticipant, maxParticipants: number): Promise<JoinOutcome> {
    const entry = this.rooms.get(participant.room);
    if (!entry) return { ok: false, reason: "room_missing" };
    const identity = participant.info?.identity ?? "";
    const replaced = entry.participants.get(identity);
    const limit = entry.room.maxParticipants > 0 ? entry.room.maxParticipants : maxParticipants;
    if (entry.participants.size - (replaced ? 1 : 0) >= limit) return { ok: false, reason: "room_full" };
    if (replaced) {
      this.bySid.delete(replaced.sid);
      if (replaced.hidden) entry.hidden--;
    }
    const member = memberOf(participant);
    if (member.hidden) entry.hidden++;
    entry.participants.set(identity, member);
    this.bySid.set(member.sid, member);
    entry.emptySince = 0;
    const others = [...entry.participants.values()].filter((m) => m !== member).map(rosterOf);
    return { ok: true, room: this.roomView(entry), others, replaced: replaced ? recordOf(replaced) : undefined };
  }

  async getParticipant(room: string, identity: string): Promise<StoredParticipant | undefined> {
    const m = this.rooms.get(room)?.participants.get(identity);
    return m ? recordOf(m) : undefined;
  }

  async getParticipantBySid(sid: string): Promise<StoredParticipant | undefined> {
    const m = this.bySid.get(sid);
    return m ? recordOf(m) : undefined;
  }

  async listParticipants(room: string): Promise<StoredParticipant[]> {
    const entry = this.rooms.get(room);
    return entry ? [...entry.participants.values()].map(recordOf) : [];
  }

  async listRoster(room: string): Promise<RosterRecord[]> {
    const entry = this.rooms.get(room);
    return entry ? [...entry.participants.values()].map(rosterOf) : [];
  }

  async updateParticipant(participant: StoredParticipant): Promise<boolean> {
    const current = this.current(participant.room, participant.info?.identity ?? "", participant.info?.sid ?? "");
    if (!current) return false;
    current.record = pack(StoredParticipantSchema, participant);
    return true;
  }

  async removeParticipant(room: string, identity: string, sid: string, now: number, condition: { awayExpiredBy?: number } = {}): Promise<StoredParticipant | undefined> {
    const current = this.current(room, identity, sid);
    if (!current) return undefined;
    const by = condition.awayExpiredBy;
    if (by !== undefined && (current.awayUntil === 0n || current.awayUntil > BigInt(by))) return undefined;
    const entry = this.rooms.get(room);
    entry?.participants.delete(identity);
    this.bySid.delete(sid);
    if (entry) {
      if (current.hidden) entry.hidden--;
      for (const [id, call] of entry.calls) if (call.caller === identity || call.callee === identity) entry.calls.delete(id);
      if (entry.participants.size === 0) {
        entry.emptySince = now;
        entry.departed = true;
      }
    }
    return recordOf(current);
  }

  async markAway(room: string, identity: string, sid: string, awayUntil: number, heldBy?: string): Promise<boolean> {
    const current = this.current(room, identity, sid);
    if (!current || (heldBy !== undefined && current.nodeId !== heldBy)) return false;
    current.awayUntil = BigInt(awayUntil);
    current.awayBytes = 0;
    return true;
  }

  async claimParticipant(room: string, identity: string, sid: string, nodeId: string): Promise<StoredParticipant | undefined> {
    const current = this.current(room, identity, sid);
    if (!current) return undefined;
    const before = recordOf(current);
    current.awayUntil = 0n;
    current.nodeId = nodeId;
    return before;
  }

  async listExpiredAway(now: number): Promise<StoredParticipant[]> {
    return [...this.bySid.values()].filter((m) => m.awayUntil > 0n && m.awayUntil <= BigInt(now)).map(recordOf);
  }

  async listParticipantsOnNode(nodeId: string): Promise<StoredParticipant[]> {
    return [...this.bySid.values()].filter((m) => m.nodeId === nodeId).map(recordOf);
  }

  async restoreParticipant(room: Room, participant: StoredParticipant, nextMessageId: bigint, recreate: boolean): Promise<RestoreOutcome> {
    const identity = participant.info?.identity ?? "";
    const sid = participant.info?.sid ?? "";
    let entry = this.rooms.get(room.name);
    const current = entry?.participants.get(identity);
    if (current) {
      if (current.sid !== sid) return "replaced";
      if (current.nodeId !== participant.nodeId) return "moved";
      raiseNextId(current, nextMessageId);
      if (current.awayUntil === 0n) return "kept";
      current.awayUntil = 0n;
      return "reclaimed";
    }
    if (!recreate) return "missing";
    if (!entry) {
      entry = { room: clone(RoomSchema, room), participants: new Map(), calls: new Map(), hidden: 0, emptySince: 0, departed: false };
      this.rooms.set(room.name, entry);
    }
    // Older messages are gone with the store; the client has them all (see `Store.restoreParticipant`).
    const member = memberOf(participant, nextMessageId > 1n ? nextMessageId : 1n);
    member.awayUntil = 0n;
    if (member.hidden) entry.hidden++;
    entry.participants.set(identity, member);
    entry.emptySince = 0;
    this.bySid.set(sid, member);
    return "restored";
  }

  enqueue(room: string, identity: string, response: Uint8Array, limits: MailboxLimits): (QueuedMessage & { overflow: boolean }) | undefined {
    const m = this.rooms.get(room)?.participants.get(identity);
    return m ? push(m, response, limits) : undefined;
  }

  async enqueueRoom(room: string, response: Uint8Array, limits: MailboxLimits, exceptSid?: string): Promise<Array<QueuedMessage & { overflow: boolean }>> {
    const entry = this.rooms.get(room);
    if (!entry) return [];
    const out: Array<QueuedMessage & { overflow: boolean }> = [];
    for (const m of entry.participants.values()) if (m.sid !== exceptSid) out.push(push(m, response, limits));
    return out;
  }

  async readMailbox(sid: string, afterId: bigint): Promise<{ messages: Array<{ id: bigint; response: Uint8Array }>; firstId: bigint; nextId: bigint }> {
    const m = this.bySid.get(sid);
    if (!m) return { messages: [], firstId: 1n, nextId: 1n };
    const entries = m.entries ?? [];
    const firstId = entries[0]?.id ?? m.nextId;
    return { messages: entries.filter((e) => e.id > afterId), firstId, nextId: m.nextId };
  }

  async ackMailbox(sid: string, upToId: bigint): Promise<bigint> {
    const m = this.bySid.get(sid);
    if (!m) return 0n;
    if (upToId >= m.nextId) upToId = m.nextId - 1n;
    if (upToId > m.acked) m.acked = upToId;
    const entries = m.entries;
    if (!entries) return m.acked;
    let drop = 0;
    while (drop < entries.length && (entries[drop]?.id ?? 0n) <= m.acked) drop++;
    if (drop === entries.length) m.entries = undefined;
    else if (drop > 0) entries.splice(0, drop);
    return m.acked;
  }

  async putCall(call: StoredCall): Promise<void> {
    this.rooms.get(call.room)?.calls.set(call.callId, clone(StoredCallSchema, call));
  }

  async getCall(room: string, callId: string): Promise<StoredCall | undefined> {
    const call = this.rooms.get(room)?.calls.get(callId);
    return call ? clone(StoredCallSchema, call) : undefined;
  }

  async deleteCall(room: string, callId: string): Promise<void> {
    this.rooms.get(room)?.calls.delete(callId);
  }

  async addCallConnected(room: string, callId: string, identity: string, now: number): Promise<{ call: StoredCall; established: boolean } | undefined> {
    const call = this.rooms.get(room)?.calls.get(callId);
    if (!call) return undefined;
    const established = addConnected(call, identity, now) === "established";
    return { call: clone(StoredCallSchema, call), established };
  }

  async listCallsOf(room: string, identity: string): Promise<StoredCall[]> {
    const entry = this.rooms.get(room);
    if (!entry) return [];
    return [...entry.calls.values()]
      .filter((c) => c.caller === identity || c.callee === identity)
      .map((c) => clone(StoredCallSchema, c));
  }

  /** Rooms and participants kept (each participant's mailbox goes with it); tests use it to prove nothing leaks. */
  sizes(): { rooms: number; participants: number } {
    return { rooms: this.rooms.size, participants: this.bySid.size };
  }

  private current(room: string, identity: string, sid: string): Member | undefined {
    const m = this.rooms.get(room)?.participants.get(identity);
    return m && m.sid === sid ? m : undefined;
  }

  private roomView(entry: RoomEntry): Room {
    return create(RoomSchema, { ...entry.room, numParticipants: entry.participants.size - entry.hidden });
  }
}

/**
 * How many of a mailbox's newest messages may stay views into a larger buffer. A relayed response is a
 * slice of Node's buffer pool (relay-frames.ts), which keeps its whole 8 KiB chunk alive. A connected
 * client acknowledges every few dozen messages, so its mailbox holds a few such slices for a moment;
 * a mailbox that keeps growing (its participant away, or a client that does not acknowledge) has its
 * older messages copied out to their own size, so it pins at most this many chunks.
 */
export const MAX_SHARED_ENTRIES = 64;

function push(m: Member, response: Uint8Array, limits: MailboxLimits): QueuedMessage & { overflow: boolean } {
  const id = m.nextId++;
  const entries = (m.entries ??= []);
  entries.push({ id, response });
  let overflow = false;
  if (m.awayUntil > 0n) {
    m.awayBytes += response.byteLength;
    if (m.awayBytes > limits.awayBytes) overflow = true;
  }
  if (entries.length > limits.messages) {
    if (m.awayUntil > 0n) overflow = true;
    entries.splice(0, entries.length - limits.messages);
  }
  const older = entries[entries.length - 1 - MAX_SHARED_ENTRIES];
  if (older !== undefined && older.response.byteLength !== older.response.buffer.byteLength) older.response = new Uint8Array(older.response);
  return { sid: m.sid, nodeId: m.nodeId, messageId: id, overflow };
}

/** Makes the next id at least `next`; older messages go (the client has them all, see `restoreParticipant`). */
function raiseNextId(m: Member, next: bigint): void {
  if (m.nextId >= next) return;
  m.nextId = next;
  m.acked = next - 1n;
  m.entries = undefined;
}
