import { randomUUID } from "node:crypto";
import { clone, create } from "@bufbuild/protobuf";
import type { StoredParticipant } from "../../gen/volly/signaling/v1/internal_pb.js";
import {
  DisconnectReason,
  LeaveAction,
  ParticipantInfoSchema,
  ParticipantState,
  type ParticipantInfo,
  type Room,
} from "../../gen/volly/signaling/v1/models_pb.js";
import * as api from "../../gen/volly/signaling/v1/room_service_pb.js";
import { DataMessageSchema, SignalResponseSchema } from "../../gen/volly/signaling/v1/signal_pb.js";
import { errors } from "../errors.js";
import { checkRoomName, MAX_NAME_CHARACTERS, withinCharacters } from "../auth/participant-names.js";
import type { NodeServices } from "../session/node-services.js";
import { MESSAGE_LIMITS, withinBytes } from "../room/message-limits.js";
import { PARTICIPANT_LIMITS } from "../room/participant-fields.js";
import { ApiCaller } from "./api-caller.js";

/** Largest request body either RoomService transport reads. */
export const API_READ_MAX_BYTES = 1 << 20;

// Room names follow the rule for a joining token's room (session/authorize-connection.ts); room metadata
// has the limit of participant metadata (room/participant-fields.ts), and a data message a participant's
// limits (room/message-limits.ts), so an admin cannot create state a participant could not.
const MAX_METADATA = PARTICIPANT_LIMITS.metadata;

/**
 * The one implementation of room administration. The Connect service (`volly.signaling.v1.RoomService`)
 * and the LiveKit Twirp adapter both call it with the caller's Authorization header value and Volly's
 * request messages; it authenticates, checks LiveKit's grants, validates, and acts through the store,
 * `Rooms` and `Delivery`, so it works the same on one node or a cluster. Throws catalogue errors only.
 */
export class RoomServiceCore {
  constructor(private readonly svc: NodeServices) {}

  async createRoom(authorization: string | undefined, req: api.CreateRoomRequest): Promise<api.CreateRoomResponse> {
    (await this.caller(authorization)).requireCreate();
    checkRoomName(req.name);
    checkSize("metadata", req.metadata, MAX_METADATA);
    const room = this.svc.rooms.newRoom(req.name, {
      emptyTimeout: req.emptyTimeout > 0 ? req.emptyTimeout : undefined,
      departureTimeout: req.departureTimeout,
      maxParticipants: req.maxParticipants,
      metadata: req.metadata,
    });
    const result = await this.svc.store.createRoom(room, this.svc.config.rooms.maxRooms, this.svc.clock.now());
    if (result.created) {
      this.svc.log.info({ room: req.name }, "room created by api");
      return create(api.CreateRoomResponseSchema, result);
    }
    // LiveKit updates a room that exists with what the request sets, and apps rely on it to change one.
    const patch = {
      ...(req.emptyTimeout > 0 ? { emptyTimeout: req.emptyTimeout } : {}),
      ...(req.departureTimeout > 0 ? { departureTimeout: req.departureTimeout } : {}),
      ...(req.maxParticipants > 0 ? { maxParticipants: req.maxParticipants } : {}),
      ...(req.metadata !== "" && req.metadata !== result.room.metadata ? { metadata: req.metadata } : {}),
    };
    if (Object.keys(patch).length === 0) return create(api.CreateRoomResponseSchema, result);
    const updated = await this.svc.rooms.changeRoom(req.name, patch);
    if (!updated) throw errors.roomNotFound();
    return create(api.CreateRoomResponseSchema, { room: updated, created: false });
  }

  async listRooms(authorization: string | undefined, req: api.ListRoomsRequest): Promise<api.ListRoomsResponse> {
    (await this.caller(authorization)).requireList();
    return create(api.ListRoomsResponseSchema, { rooms: await this.svc.store.listRooms(req.names) });
  }

  /** Deletes the room; each participant's connection, wherever it is, gets `leave` ROOM_DELETED. */
  async deleteRoom(authorization: string | undefined, req: api.DeleteRoomRequest): Promise<api.DeleteRoomResponse> {
    (await this.caller(authorization)).requireCreate();
    await this.existingRoom(req.room);
    const removed = await this.svc.rooms.deleteRoom(req.room);
    // Offline before they are told (see removeParticipant).
    const now = this.svc.clock.now();
    await Promise.all(removed.map((p) => this.svc.store.setParticipantOffline(p.info?.identity ?? "", p.info?.sid ?? "", now)));
    await Promise.all(removed.map((p) => this.svc.delivery.disconnect(p, DisconnectReason.ROOM_DELETED, LeaveAction.DISCONNECT, true)));
    this.svc.log.info({ room: req.room, participants: removed.length }, "room deleted by api");
    return create(api.DeleteRoomResponseSchema, { removedParticipants: removed.length });
  }

  async listParticipants(authorization: string | undefined, req: api.ListParticipantsRequest): Promise<api.ListParticipantsResponse> {
    (await this.caller(authorization)).requireAdmin(req.room);
    await this.existingRoom(req.room);
    const participants = await this.svc.store.listParticipants(req.room);
    return create(api.ListParticipantsResponseSchema, { participants: participants.map(participantView) });
  }

  async getParticipant(authorization: string | undefined, req: api.GetParticipantRequest): Promise<api.GetParticipantResponse> {
    (await this.caller(authorization)).requireAdmin(req.room);
    const p = await this.existingParticipant(req.room, req.identity);
    return create(api.GetParticipantResponseSchema, { participant: participantView(p) });
  }

  /** Removes the participant: the room sees it leave, its connection gets `leave` PARTICIPANT_REMOVED. */
  async removeParticipant(authorization: string | undefined, req: api.RemoveParticipantRequest): Promise<api.RemoveParticipantResponse> {
    (await this.caller(authorization)).requireAdmin(req.room);
    const p = await this.existingParticipant(req.room, req.identity);
    const sid = p.info?.sid ?? "";
    // Offline before the room is told, as when it leaves itself: its own node marks it only when the
    // connection has ended, after the room (and this answer) said it is gone.
    await this.svc.store.setParticipantOffline(req.identity, sid, this.svc.clock.now());
    const removed = await this.svc.rooms.leave(req.room, req.identity, sid, DisconnectReason.PARTICIPANT_REMOVED);
    if (!removed) throw errors.participantNotFound();
    // The node the store had when it removed the participant, not when it was read: a resume on another
    // node in between moved it there, and a disconnect sent to the old node would leave that connection open.
    await this.svc.delivery.disconnect(removed, DisconnectReason.PARTICIPANT_REMOVED, LeaveAction.DISCONNECT, true);
    this.svc.log.info({ room: req.room, identity: req.identity, sid }, "participant removed by api");
    return create(api.RemoveParticipantResponseSchema);
  }

  /** Changes metadata, name or attributes; the room and the participant itself get a `participant_update`. */
  async updateParticipant(authorization: string | undefined, req: api.UpdateParticipantRequest): Promise<api.UpdateParticipantResponse> {
    (await this.caller(authorization)).requireAdmin(req.room);
    const p = await this.existingParticipant(req.room, req.identity);
    // An admin change is news to the participant too (LiveKit does the same): told under the change's lock.
    const changed = await this.svc.rooms.change(req.room, req.identity, p.info?.sid ?? "", {
      metadata: req.metadata,
      name: req.name,
      attributes: req.attributes,
    }, { tellSelf: true });
    if (!changed?.info) throw errors.participantNotFound();
    return create(api.UpdateParticipantResponseSchema, { participant: participantView(changed) });
  }

  /** Replaces the room's metadata; everyone in the room gets a `room_update`. */
  async updateRoomMetadata(authorization: string | undefined, req: api.UpdateRoomMetadataRequest): Promise<api.UpdateRoomMetadataResponse> {
    (await this.caller(authorization)).requireAdmin(req.room);
    checkSize("metadata", req.metadata, MAX_METADATA);
    const room = await this.svc.rooms.changeRoom(req.room, { metadata: req.metadata });
    if (!room) throw errors.roomNotFound();
    return create(api.UpdateRoomMetadataResponseSchema, { room });
  }

  /**
   * Sends a `data` message from the server (empty `from`/`from_sid`) to the named identities and sids, or
   * to everyone in the room when none are named. Recipients not in the room are skipped.
   */
  async sendData(authorization: string | undefined, req: api.SendDataRequest): Promise<api.SendDataResponse> {
    (await this.caller(authorization)).requireAdmin(req.room);
    const maxData = this.svc.config.limits.maxDataBytes;
    if (req.payload.length > maxData) throw errors.fieldTooLarge("payload", maxData);
    checkSize("topic", req.topic, MESSAGE_LIMITS.topic);
    checkSize("id", req.id, MESSAGE_LIMITS.id);
    await this.existingRoom(req.room);
    const id = req.id !== "" ? req.id : randomUUID();
    const message = create(SignalResponseSchema, {
      message: { case: "data", value: create(DataMessageSchema, { topic: req.topic, payload: req.payload, id }) },
    });
    if (req.destinationIdentities.length === 0 && req.destinationSids.length === 0) {
      const recipients = await this.svc.delivery.toRoom(req.room, message);
      return create(api.SendDataResponseSchema, { recipients, id });
    }
    // A name longer than an identity may be belongs to no one, so it is skipped like any other absent
    // recipient, before anything is queued: the Redis mailbox batch would refuse it and end the loop
    // half-way, some recipients served and the rest not.
    const targets = new Set(req.destinationIdentities.filter((identity) => withinCharacters(identity, MAX_NAME_CHARACTERS)));
    if (req.destinationSids.length > 0) {
      const sids = new Set(req.destinationSids);
      for (const p of await this.svc.store.listParticipants(req.room)) {
        if (p.info && sids.has(p.info.sid)) targets.add(p.info.identity);
      }
    }
    let recipients = 0;
    for (const identity of targets) {
      if (await this.svc.delivery.toParticipant(req.room, identity, message)) recipients++;
    }
    return create(api.SendDataResponseSchema, { recipients, id });
  }

  /** The numbers of `GET /volly/sessions/stats`, from the same cluster-wide store counters. */
  async getSessionStats(authorization: string | undefined): Promise<api.GetSessionStatsResponse> {
    (await this.caller(authorization)).requireStats();
    const stats = await this.svc.store.sessionStats();
    const pq = this.svc.config.pq;
    return create(api.GetSessionStatsResponseSchema, {
      activeSessions: BigInt(stats.activeSessions),
      expiredSessions: BigInt(stats.expiredSessions),
      totalSessions: BigInt(stats.totalSessions),
      algorithm: pq.enabled ? pq.algorithm : "none",
      pqEnabled: pq.enabled,
      rekeys: BigInt(stats.rekeys),
      nodeId: this.svc.nodeId,
    });
  }

  private caller(authorization: string | undefined): Promise<ApiCaller> {
    return ApiCaller.authenticate(this.svc.tokens, authorization);
  }

  private async existingRoom(name: string): Promise<Room> {
    if (name === "") throw errors.roomNameMissing();
    const room = await this.svc.store.getRoom(name);
    if (!room) throw errors.roomNotFound();
    return room;
  }

  private async existingParticipant(room: string, identity: string): Promise<StoredParticipant> {
    if (room === "") throw errors.roomNameMissing();
    if (identity === "") throw errors.identityMissing();
    const p = await this.svc.store.getParticipant(room, identity);
    if (p?.info) return p;
    // Which one is missing, as errors.md promises: the room is read only on this refusal path.
    if (!(await this.svc.store.getRoom(room))) throw errors.roomNotFound();
    throw errors.participantNotFound();
  }
}

/** A participant as the API shows it: RECONNECTING while its connection is down within the resume window. */
function participantView(p: StoredParticipant): ParticipantInfo {
  const info = p.info ? clone(ParticipantInfoSchema, p.info) : create(ParticipantInfoSchema);
  if (p.awayUntil > 0n) info.state = ParticipantState.RECONNECTING;
  return info;
}

function checkSize(field: string, value: string, max: number): void {
  if (!withinBytes(value, max)) throw errors.fieldTooLarge(field, max);
}
