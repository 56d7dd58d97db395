import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { RoomService } from "../../gen/volly/signaling/v1/room_service_pb.js";
import type { NodeServices } from "../session/node-services.js";
import { untilDeadline } from "./call-deadline.js";
import { publicErrors } from "./public-errors.js";
import { API_READ_MAX_BYTES, RoomServiceCore } from "./room-service-core.js";
import { answerRequestErrorsFromCatalogue } from "./rpc-request-errors.js";

/**
 * Registers `volly.signaling.v1.RoomService` (gRPC, Connect, gRPC-web) on a port's router. Each method
 * hands the `authorization` header and the request to the shared `RoomServiceCore`, and answers
 * `call_deadline` when the client's deadline passes first. Requests that do not decode or are too large
 * are answered from the catalogue too (`answerRequestErrorsFromCatalogue`).
 */
export function registerRoomService(router: ConnectRouter, svc: NodeServices): void {
  const core = new RoomServiceCore(svc);
  const auth = (ctx: HandlerContext) => ctx.requestHeader.get("authorization") ?? undefined;
  const first = router.handlers.length;
  router.service(
    RoomService,
    {
      createRoom: (req, ctx) => untilDeadline(ctx, core.createRoom(auth(ctx), req)),
      listRooms: (req, ctx) => untilDeadline(ctx, core.listRooms(auth(ctx), req)),
      deleteRoom: (req, ctx) => untilDeadline(ctx, core.deleteRoom(auth(ctx), req)),
      listParticipants: (req, ctx) => untilDeadline(ctx, core.listParticipants(auth(ctx), req)),
      getParticipant: (req, ctx) => untilDeadline(ctx, core.getParticipant(auth(ctx), req)),
      removeParticipant: (req, ctx) => untilDeadline(ctx, core.removeParticipant(auth(ctx), req)),
      updateParticipant: (req, ctx) => untilDeadline(ctx, core.updateParticipant(auth(ctx), req)),
      updateRoomMetadata: (req, ctx) => untilDeadline(ctx, core.updateRoomMetadata(auth(ctx), req)),
      sendData: (req, ctx) => untilDeadline(ctx, core.sendData(auth(ctx), req)),
      getSessionStats: (_req, ctx) => untilDeadline(ctx, core.getSessionStats(auth(ctx))),
    },
    { interceptors: [publicErrors(svc.log)], readMaxBytes: API_READ_MAX_BYTES },
  );
  answerRequestErrorsFromCatalogue(router.handlers, first, API_READ_MAX_BYTES, svc.log);
}
