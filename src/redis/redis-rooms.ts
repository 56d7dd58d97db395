import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { StoredCallSchema, type StoredCall, type StoredParticipant } from "../../gen/volly/signaling/v1/internal_pb.js";
import type { Room } from "../../gen/volly/signaling/v1/models_pb.js";
import { errors } from "../errors.js";
import type { CallStore, RoomPatch, RoomStore } from "../store/store.js";
import { roomScripts } from "./lua/room-scripts.js";
import { reply } from "./lua-script.js";
import { decodeParticipantRows } from "./redis-codec.js";
import { decodeRoomRow, roomArgs } from "./redis-room-fields.js";
import type { RedisContext } from "./redis-context.js";
import { byRoomName } from "../store/room-order.js";
import { addConnected } from "../store/call-connected.js";

/** How often `addCallConnected` tries again after another write to the same call got in first. */
const MAX_CALL_SWAPS = 32;

/** Rooms and calls in Redis (`room:<name>`, `rooms`, `rooms:empty`, `room:<name>:calls`). */
export class RedisRooms implements RoomStore, CallStore {
  constructor(private readonly ctx: RedisContext) {}

  async getRoom(name: string): Promise<Room | undefined> {
    const rows = reply.array(await this.ctx.run(roomScripts.read, [name]));
    return rows[0] ? decodeRoomRow(rows[0]) : undefined;
  }

  async listRooms(names: readonly string[] = []): Promise<Room[]> {
    // A name asked for twice is one room.
    const rows = reply.array(await this.ctx.run(roomScripts.read, [...new Set(names)]));
    return rows.map(decodeRoomRow).sort(byRoomName);
  }

  async countRooms(): Promise<number> {
    return this.ctx.timed("room_count", () => this.ctx.redis.scard(this.ctx.keys.rooms));
  }

  async createRoom(room: Room, maxRooms: number, now: number): Promise<{ room: Room; created: boolean }> {
    const [code, row] = reply.array(await this.ctx.run(roomScripts.create, [...roomArgs(room), maxRooms], now));
    if (reply.number(code) < 0) throw errors.tooManyRooms();
    return { room: decodeRoomRow(row), created: reply.number(code) === 1 };
  }

  async updateRoom(name: string, patch: RoomPatch): Promise<Room | undefined> {
    const pairs: string[] = [];
    if (patch.metadata !== undefined) pairs.push("metadata", patch.metadata);
    if (patch.maxParticipants !== undefined) pairs.push("max_participants", String(patch.maxParticipants));
    if (patch.emptyTimeout !== undefined) pairs.push("empty_timeout", String(patch.emptyTimeout));
    if (patch.departureTimeout !== undefined) pairs.push("departure_timeout", String(patch.departureTimeout));
    const row = await this.ctx.run(roomScripts.update, [name, ...pairs]);
    return row === null ? undefined : decodeRoomRow(row);
  }

  async deleteRoom(name: string): Promise<StoredParticipant[]> {
    return decodeParticipantRows(await this.ctx.run(roomScripts.delete, [name]));
  }

  async deleteExpiredEmptyRooms(now: number): Promise<string[]> {
    return reply.array(await this.ctx.run(roomScripts.expireEmpty, [], now)).map(reply.string);
  }

  async putCall(call: StoredCall): Promise<void> {
    await this.ctx.run(roomScripts.putCall, [call.room, call.callId, toBinary(StoredCallSchema, call)]);
  }

  async getCall(room: string, callId: string): Promise<StoredCall | undefined> {
    const bytes = await this.ctx.timed("hget", () => this.ctx.redis.hgetBuffer(this.ctx.keys.roomCalls(room), callId));
    return bytes ? fromBinary(StoredCallSchema, reply.bytes(bytes)) : undefined;
  }

  async deleteCall(room: string, callId: string): Promise<void> {
    await this.ctx.timed("hdel", () => this.ctx.redis.hdel(this.ctx.keys.roomCalls(room), callId));
  }

  /**
   * Read, change, compare-and-swap (`call_swap`), again from the call as it is now when another write got
   * in between: the two parties reporting CONNECTED at the same moment, on any nodes, both land.
   */
  async addCallConnected(room: string, callId: string, identity: string, now: number): Promise<{ call: StoredCall; established: boolean } | undefined> {
    let stored: unknown = await this.ctx.timed("hget", () => this.ctx.redis.hgetBuffer(this.ctx.keys.roomCalls(room), callId));
    for (let attempt = 1; ; attempt++) {
      if (stored === null) return undefined;
      const bytes = reply.bytes(stored);
      const call = fromBinary(StoredCallSchema, bytes);
      const change = addConnected(call, identity, now);
      if (change === "unchanged") return { call, established: false };
      stored = await this.ctx.run(roomScripts.swapCall, [room, callId, bytes, toBinary(StoredCallSchema, call)]);
      if (typeof stored === "number") return { call, established: change === "established" };
      // Each retry means another write to this call succeeded meanwhile; only its two parties write it, at
      // the pace of their (rate-limited) messages, so this bound is never reached in practice.
      if (attempt >= MAX_CALL_SWAPS) throw new Error(`redis: call ${callId} changed on each of ${MAX_CALL_SWAPS} attempts`);
    }
  }

  async listCallsOf(room: string, identity: string): Promise<StoredCall[]> {
    const all = await this.ctx.timed("hgetall", () => this.ctx.redis.hgetallBuffer(this.ctx.keys.roomCalls(room)));
    return Object.values(all)
      .map((bytes) => fromBinary(StoredCallSchema, reply.bytes(bytes)))
      .filter((c) => c.caller === identity || c.callee === identity);
  }
}
