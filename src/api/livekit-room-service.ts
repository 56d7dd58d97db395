import { create } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import * as lk from "../../gen/livekit/livekit_room_pb.js";
import {
  CreateRoomRequestSchema,
  DeleteRoomRequestSchema,
  GetParticipantRequestSchema,
  ListParticipantsRequestSchema,
  ListRoomsRequestSchema,
  RemoveParticipantRequestSchema,
  SendDataRequestSchema,
  UpdateParticipantRequestSchema,
  UpdateRoomMetadataRequestSchema,
} from "../../gen/volly/signaling/v1/room_service_pb.js";
import { errors } from "../errors.js";
import type { ExtraRoute } from "../http/rest-routes.js";
import type { NodeServices } from "../session/node-services.js";
import { ApiCaller } from "./api-caller.js";
import { toLivekitParticipant, toLivekitRoom } from "./livekit-models.js";
import { publicErrors } from "./public-errors.js";
import { API_READ_MAX_BYTES, RoomServiceCore } from "./room-service-core.js";
import { twirpRoute } from "./twirp-adapter.js";

/**
 * `/twirp/livekit.RoomService/*` for LiveKit's server SDKs and Twirp clients, on both ports (an
 * `httpRoutes` entry of `createVollyServer`). Every method translates LiveKit's request into Volly's, runs
 * the shared `RoomServiceCore`, and translates the answer back; nothing else happens here.
 */
export function livekitTwirpRoute(svc: NodeServices): ExtraRoute {
  return twirpRoute((router) => registerLivekitRoomService(router, new RoomServiceCore(svc), svc), svc.log);
}

function registerLivekitRoomService(router: ConnectRouter, core: RoomServiceCore, svc: NodeServices): void {
  const auth = (ctx: HandlerContext) => ctx.requestHeader.get("authorization") ?? undefined;
  router.service(
    lk.RoomService,
    {
      async createRoom(req, ctx) {
        const { name, emptyTimeout, departureTimeout, maxParticipants, metadata } = req;
        const res = await core.createRoom(auth(ctx), create(CreateRoomRequestSchema, { name, emptyTimeout, departureTimeout, maxParticipants, metadata }));
        return toLivekitRoom(res.room);
      },
      async listRooms(req, ctx) {
        const res = await core.listRooms(auth(ctx), create(ListRoomsRequestSchema, { names: req.names }));
        return create(lk.ListRoomsResponseSchema, { rooms: res.rooms.map(toLivekitRoom) });
      },
      async deleteRoom(req, ctx) {
        await core.deleteRoom(auth(ctx), create(DeleteRoomRequestSchema, { room: req.room }));
        return create(lk.DeleteRoomResponseSchema);
      },
      async listParticipants(req, ctx) {
        const res = await core.listParticipants(auth(ctx), create(ListParticipantsRequestSchema, { room: req.room }));
        return create(lk.ListParticipantsResponseSchema, { participants: res.participants.map(toLivekitParticipant) });
      },
      async getParticipant(req, ctx) {
        const { room, identity } = req;
        const res = await core.getParticipant(auth(ctx), create(GetParticipantRequestSchema, { room, identity }));
        return toLivekitParticipant(res.participant);
      },
      async removeParticipant(req, ctx) {
        const { room, identity } = req;
        await core.removeParticipant(auth(ctx), create(RemoveParticipantRequestSchema, { room, identity }));
        return create(lk.RemoveParticipantResponseSchema);
      },
      async updateParticipant(req, ctx) {
        // Volly's request has no permission field: a live connection keeps the permissions of its token. Who
        // asks is checked first, as for every other request: a stranger learns nothing of what is supported.
        if (req.permission !== undefined) {
          (await ApiCaller.authenticate(svc.tokens, auth(ctx))).requireAdmin(req.room);
          throw errors.permissionUpdateUnsupported();
        }
        const res = await core.updateParticipant(auth(ctx), create(UpdateParticipantRequestSchema, {
          room: req.room,
          identity: req.identity,
          // LiveKit: an empty string leaves the field unchanged.
          metadata: req.metadata !== "" ? req.metadata : undefined,
          name: req.name !== "" ? req.name : undefined,
          attributes: req.attributes,
        }));
        return toLivekitParticipant(res.participant);
      },
      async updateRoomMetadata(req, ctx) {
        const { room, metadata } = req;
        const res = await core.updateRoomMetadata(auth(ctx), create(UpdateRoomMetadataRequestSchema, { room, metadata }));
        return toLivekitRoom(res.room);
      },
      async sendData(req, ctx) {
        await core.sendData(auth(ctx), create(SendDataRequestSchema, {
          room: req.room,
          payload: req.data,
          topic: req.topic ?? "",
          destinationIdentities: req.destinationIdentities,
          destinationSids: req.destinationSids,
          id: Buffer.from(req.nonce).toString("hex"),
        }));
        return create(lk.SendDataResponseSchema);
      },
    },
    { interceptors: [publicErrors(svc.log)], readMaxBytes: API_READ_MAX_BYTES },
  );
}
