import { clone, create } from "@bufbuild/protobuf";
import { RoomSchema, type Room } from "../../gen/volly/signaling/v1/models_pb.js";
import { StoredCallSchema, StoredParticipantSchema, type StoredCall, type StoredParticipant } from "../../gen/volly/signaling/v1/internal_pb.js";
import { errors } from "../errors.js";
import { shareEmptyBytes } from "./compact-records.js";
import type { CallStore, JoinOutcome, MailboxStore, ParticipantStore, QueuedMessage, RestoreOutcome, RoomPatch, RoomStore } from "./store.js";

interface RoomEntry {
  room: Room;
  participants: Map<string, StoredParticipant>;
  calls: Map<string, StoredCall>;
  /** When the room became empty (ms); 0 while occupied. */
  emptySince: number;
}

interface Mailbox {
  nextId: bigint;
  acked: bigint;
  entries: Array<{ id: bigint; response: Uint8Array }>;
}

/**
 * Rooms, participants, mailboxes and calls in process memory. Every method runs to completion without
 * awaiting, which is what makes each one atomic here. Records are cloned in and out so callers can never
 * mutate the stored state.
 */
export class MemoryRooms implements RoomStore, ParticipantStore, MailboxStore, CallStore {
  private readonly rooms = new Map<string, RoomEntry>();
  private readonly bySid = new Map<string, StoredParticipant>();
  private readonly mailboxes = new Map<string, Mailbox>();

  async getRoom(name: string): Promise<Room | undefined> {
    const entry = this.rooms.get(name);
    return entry ? this.roomView(entry) : undefined;
  }

  async listRooms(names: readonly string[] = []): Promise<Room[]> {
    const entries = names.length > 0 ? names.map((n) => this.rooms.get(n)) : [...this.rooms.values()];
    return entries
      .filter((e): e is RoomEntry => e !== undefined)
      .map((e) => this.roomView(e))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async createRoom(room: Room, maxRooms: number, now: number): Promise<{ room: Room; created: boolean }> {
    const existing = this.rooms.get(room.name);
    if (existing) return { room: this.roomView(existing), created: false };
    if (this.rooms.size >= maxRooms) throw errors.tooManyRooms();
    const entry: RoomEntry = { room: clone(RoomSchema, room), participants: new Map(), calls: new Map(), emptySince: now };
    this.rooms.set(room.name, entry);
    return { room: this.roomView(entry), created: true };
  }

  async updateRoom(name: string, patch: RoomPatch): Promise<Room | undefined> {
    const entry = this.rooms.get(name);
    if (!entry) return undefined;
    if (patch.metadata !== undefined) entry.room.metadata = patch.metadata;
    if (patch.maxParticipants !== undefined) entry.room.maxParticipants = patch.maxParticipants;
    if (patch.emptyTimeout !== undefined) entry.room.emptyTimeout = patch.emptyTimeout;
    return this.roomView(entry);
  }

  async deleteRoom(name: string): Promise<StoredParticipant[]> {
    const entry = this.rooms.get(name);
    if (!entry) return [];
    this.rooms.delete(name);
    const removed = [...entry.participants.values()];
    for (const p of removed) this.forget(p);
    return removed.map((p) => clone(StoredParticipantSchema, p));
  }

  async deleteExpiredEmptyRooms(now: number): Promise<string[]> {
    const deleted: string[] = [];
    for (const [name, entry] of this.rooms) {
      if (entry.participants.size === 0 && entry.emptySince > 0 && now - entry.emptySince >= entry.room.emptyTimeout * 1000) {
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
    if (replaced) this.forget(replaced);
    const stored = shareEmptyBytes(clone(StoredParticipantSchema, participant));
    entry.participants.set(identity, stored);
    this.bySid.set(stored.info?.sid ?? "", stored);
    this.mailboxes.set(stored.info?.sid ?? "", { nextId: 1n, acked: 0n, entries: [] });
    entry.emptySince = 0;
    const others = [...entry.participants.values()].filter((p) => p !== stored).map((p) => clone(StoredParticipantSchema, p));
    return { ok: true, room: this.roomView(entry), others, replaced: replaced ? clone(StoredParticipantSchema, replaced) : undefined };
  }

  async getParticipant(room: string, identity: string): Promise<StoredParticipant | undefined> {
    const p = this.rooms.get(room)?.participants.get(identity);
    return p ? clone(StoredParticipantSchema, p) : undefined;
  }

  async getParticipantBySid(sid: string): Promise<StoredParticipant | undefined> {
    const p = this.bySid.get(sid);
    return p ? clone(StoredParticipantSchema, p) : undefined;
  }

  async listParticipants(room: string): Promise<StoredParticipant[]> {
    const entry = this.rooms.get(room);
    return entry ? [...entry.participants.values()].map((p) => clone(StoredParticipantSchema, p)) : [];
  }

  async updateParticipant(participant: StoredParticipant): Promise<boolean> {
    const current = this.current(participant.room, participant.info?.identity ?? "", participant.info?.sid ?? "");
    if (!current) return false;
    const stored = shareEmptyBytes(clone(StoredParticipantSchema, participant));
    stored.nodeId = current.nodeId;
    stored.awayUntil = current.awayUntil;
    this.rooms.get(participant.room)?.participants.set(stored.info?.identity ?? "", stored);
    this.bySid.set(stored.info?.sid ?? "", stored);
    return true;
  }

  async removeParticipant(room: string, identity: string, sid: string, now: number, condition: { awayExpiredBy?: number } = {}): Promise<StoredParticipant | undefined> {
    const current = this.current(room, identity, sid);
    if (!current) return undefined;
    const by = condition.awayExpiredBy;
    if (by !== undefined && (current.awayUntil === 0n || current.awayUntil > BigInt(by))) return undefined;
    const entry = this.rooms.get(room);
    entry?.participants.delete(identity);
    this.forget(current);
    if (entry) {
      for (const [id, call] of entry.calls) if (call.caller === identity || call.callee === identity) entry.calls.delete(id);
      if (entry.participants.size === 0) entry.emptySince = now;
    }
    return clone(StoredParticipantSchema, current);
  }

  async markAway(room: string, identity: string, sid: string, awayUntil: number, heldBy?: string): Promise<boolean> {
    const current = this.current(room, identity, sid);
    if (!current || (heldBy !== undefined && current.nodeId !== heldBy)) return false;
    current.awayUntil = BigInt(awayUntil);
    return true;
  }

  async claimParticipant(room: string, identity: string, sid: string, nodeId: string): Promise<StoredParticipant | undefined> {
    const current = this.current(room, identity, sid);
    if (!current) return undefined;
    const before = clone(StoredParticipantSchema, current);
    current.awayUntil = 0n;
    current.nodeId = nodeId;
    return before;
  }

  async listExpiredAway(now: number): Promise<StoredParticipant[]> {
    return [...this.bySid.values()]
      .filter((p) => p.awayUntil > 0n && p.awayUntil <= BigInt(now))
      .map((p) => clone(StoredParticipantSchema, p));
  }

  async listParticipantsOnNode(nodeId: string): Promise<StoredParticipant[]> {
    return [...this.bySid.values()].filter((p) => p.nodeId === nodeId).map((p) => clone(StoredParticipantSchema, p));
  }

  async restoreParticipant(room: Room, participant: StoredParticipant, nextMessageId: bigint, recreate: boolean): Promise<RestoreOutcome> {
    const identity = participant.info?.identity ?? "";
    const sid = participant.info?.sid ?? "";
    let entry = this.rooms.get(room.name);
    const current = entry?.participants.get(identity);
    if (current) {
      if (current.info?.sid !== sid) return "replaced";
      if (current.nodeId !== participant.nodeId) return "moved";
      this.raiseNextId(sid, nextMessageId);
      if (current.awayUntil === 0n) return "kept";
      current.awayUntil = 0n;
      return "reclaimed";
    }
    if (!recreate) return "missing";
    if (!entry) {
      entry = { room: clone(RoomSchema, room), participants: new Map(), calls: new Map(), emptySince: 0 };
      this.rooms.set(room.name, entry);
    }
    const stored = shareEmptyBytes(clone(StoredParticipantSchema, participant));
    stored.awayUntil = 0n;
    entry.participants.set(identity, stored);
    entry.emptySince = 0;
    this.bySid.set(sid, stored);
    this.raiseNextId(sid, nextMessageId);
    return "restored";
  }

  async enqueue(room: string, identity: string, response: Uint8Array, limit: number): Promise<(QueuedMessage & { overflow: boolean }) | undefined> {
    const p = this.rooms.get(room)?.participants.get(identity);
    return p ? this.push(p, response, limit) : undefined;
  }

  async enqueueRoom(room: string, response: Uint8Array, limit: number, exceptSid?: string): Promise<Array<QueuedMessage & { overflow: boolean }>> {
    const entry = this.rooms.get(room);
    if (!entry) return [];
    const out: Array<QueuedMessage & { overflow: boolean }> = [];
    for (const p of entry.participants.values()) if (p.info?.sid !== exceptSid) out.push(this.push(p, response, limit));
    return out;
  }

  async readMailbox(sid: string, afterId: bigint): Promise<{ messages: Array<{ id: bigint; response: Uint8Array }>; firstId: bigint; nextId: bigint }> {
    const box = this.mailboxes.get(sid);
    if (!box) return { messages: [], firstId: 1n, nextId: 1n };
    const firstId = box.entries[0]?.id ?? box.nextId;
    return { messages: box.entries.filter((e) => e.id > afterId), firstId, nextId: box.nextId };
  }

  async ackMailbox(sid: string, upToId: bigint): Promise<bigint> {
    const box = this.mailboxes.get(sid);
    if (!box) return 0n;
    if (upToId >= box.nextId) upToId = box.nextId - 1n;
    if (upToId > box.acked) box.acked = upToId;
    let drop = 0;
    while (drop < box.entries.length && (box.entries[drop]?.id ?? 0n) <= box.acked) drop++;
    if (drop > 0) box.entries.splice(0, drop);
    return box.acked;
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

  async listCallsOf(room: string, identity: string): Promise<StoredCall[]> {
    const entry = this.rooms.get(room);
    if (!entry) return [];
    return [...entry.calls.values()]
      .filter((c) => c.caller === identity || c.callee === identity)
      .map((c) => clone(StoredCallSchema, c));
  }

  /** Number of mailboxes and rooms kept; tests use it to prove nothing leaks. */
  sizes(): { rooms: number; participants: number; mailboxes: number } {
    return { rooms: this.rooms.size, participants: this.bySid.size, mailboxes: this.mailboxes.size };
  }

  private push(p: StoredParticipant, response: Uint8Array, limit: number): QueuedMessage & { overflow: boolean } {
    const sid = p.info?.sid ?? "";
    let box = this.mailboxes.get(sid);
    if (!box) {
      box = { nextId: 1n, acked: 0n, entries: [] };
      this.mailboxes.set(sid, box);
    }
    const id = box.nextId++;
    box.entries.push({ id, response });
    let overflow = false;
    if (box.entries.length > limit) {
      if (p.awayUntil > 0n) overflow = true;
      box.entries.splice(0, box.entries.length - limit);
    }
    return { sid, nodeId: p.nodeId, messageId: id, overflow };
  }

  /** Makes the next id at least `next`; older messages go (the client has them all, see `restoreParticipant`). */
  private raiseNextId(sid: string, next: bigint): void {
    const box = this.mailboxes.get(sid);
    if (box && box.nextId >= next) return;
    const floor = next > 1n ? next : 1n;
    this.mailboxes.set(sid, { nextId: floor, acked: floor - 1n, entries: [] });
  }

  private current(room: string, identity: string, sid: string): StoredParticipant | undefined {
    const p = this.rooms.get(room)?.participants.get(identity);
    return p && p.info?.sid === sid ? p : undefined;
  }

  private forget(p: StoredParticipant): void {
    const sid = p.info?.sid ?? "";
    this.bySid.delete(sid);
    this.mailboxes.delete(sid);
  }

  private roomView(entry: RoomEntry): Room {
    return create(RoomSchema, { ...entry.room, numParticipants: entry.participants.size });
  }
}
