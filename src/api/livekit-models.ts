import { create } from "@bufbuild/protobuf";
import * as lk from "../../gen/livekit/livekit_models_pb.js";
import { ParticipantState, type DisconnectReason, type ParticipantInfo, type Room } from "../../gen/volly/signaling/v1/models_pb.js";

/** Volly's room in LiveKit's shape: times in seconds and milliseconds, no media fields. */
export function toLivekitRoom(room: Room | undefined): lk.Room {
  if (!room) return create(lk.RoomSchema);
  return create(lk.RoomSchema, {
    sid: room.sid,
    name: room.name,
    emptyTimeout: room.emptyTimeout,
    departureTimeout: room.departureTimeout,
    maxParticipants: room.maxParticipants,
    creationTime: room.creationTime / 1000n,
    creationTimeMs: room.creationTime,
    metadata: room.metadata,
    numParticipants: room.numParticipants,
  });
}

/**
 * Volly's participant in LiveKit's shape. A joined participant is JOINED (ACTIVE means media connectivity
 * with LiveKit's SFU, which a signaling server never has); every participant is a STANDARD client and no
 * publisher. Disconnect reasons 0-16 share LiveKit's numbers; Volly's own (20 and up) become UNKNOWN_REASON.
 */
export function toLivekitParticipant(p: ParticipantInfo | undefined): lk.ParticipantInfo {
  if (!p) return create(lk.ParticipantInfoSchema);
  const permission = p.permission;
  return create(lk.ParticipantInfoSchema, {
    sid: p.sid,
    identity: p.identity,
    state: livekitState(p.state),
    metadata: p.metadata,
    joinedAt: p.joinedAt / 1000n,
    joinedAtMs: p.joinedAt,
    name: p.name,
    version: p.version,
    permission: permission
      ? {
          canSubscribe: permission.canSubscribe,
          canPublish: permission.canPublish,
          canPublishData: permission.canPublishData,
          hidden: permission.hidden,
          canUpdateMetadata: permission.canUpdateMetadata,
        }
      : undefined,
    kind: lk.ParticipantInfo_Kind.STANDARD,
    attributes: { ...p.attributes },
    disconnectReason: livekitReason(p.disconnectReason),
  });
}

function livekitState(state: ParticipantState): lk.ParticipantInfo_State {
  switch (state) {
    case ParticipantState.JOINED:
    case ParticipantState.RECONNECTING:
      return lk.ParticipantInfo_State.JOINED;
    case ParticipantState.DISCONNECTED:
      return lk.ParticipantInfo_State.DISCONNECTED;
    default:
      return lk.ParticipantInfo_State.JOINING;
  }
}

function livekitReason(reason: DisconnectReason): lk.DisconnectReason {
  const n: number = reason;
  return n <= lk.DisconnectReason.AGENT_ERROR ? n : lk.DisconnectReason.UNKNOWN_REASON;
}
