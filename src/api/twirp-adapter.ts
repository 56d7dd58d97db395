import { ConnectError, createConnectRouter, createContextValues, type ConnectRouter } from "@connectrpc/connect";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { codeFromName, errorIdOf, errors, toPublicError, twirpCodeOf, type ErrorId } from "../errors.js";
import { discardRequestBody, type ExtraRoute, type Res } from "../http/rest-routes.js";
import { reached, requestBodyError } from "./request-body-errors.js";
import { API_READ_MAX_BYTES } from "./room-service-core.js";

/** Twirp's default path prefix (`/twirp/<package>.<Service>/<Method>`). */
export const TWIRP_PREFIX = "/twirp";

/** LiveKit's RoomService methods for media tracks, agents and RPC, which `livekit_room.proto` leaves out. */
const NOT_SERVED = new Set(["MutePublishedTrack", "UpdateSubscriptions", "ForwardParticipant", "MoveParticipant", "PerformRpc"]);

// Twirp's request content types and the names connect-es gives the same encodings. A Map, since the key is the
// client's header: an object would answer `constructor` or `__proto__` with its prototype's members.
const CONNECT_TYPE: ReadonlyMap<string, string> = new Map([
  ["application/json", "application/json"],
  ["application/protobuf", "application/proto"],
]);

/**
 * Serves Connect services to Twirp clients under `/twirp/<package>.<Service>/<Method>`, running them through
 * connect-es's own unary handlers (decoding, size limits, interceptors); this adapter only translates the
 * envelope. Requests: POST, `application/json` (proto3 JSON, either field-name style) or
 * `application/protobuf`, answered in the same encoding; JSON answers use the `.proto` field names and
 * emit default values, as Twirp's Go servers (and LiveKit) do. Errors: `{"code","msg"}` with Twirp's code
 * and HTTP status from `twirpCodeOf`, `Content-Type: application/json` exactly (what LiveKit's SDK checks).
 * Unknown methods, other HTTP methods and other content types get Twirp's `bad_route` (404); LiveKit's
 * methods that Volly does not serve get `unimplemented` (501), saying so. A body that does not decode is
 * `malformed_message` (Twirp's `malformed`, 400), one over the API's limit `request_too_large`, and a
 * compressed one (Twirp has no request compression) `compression_unsupported`, the same catalogue errors
 * as on Connect and gRPC (see `requestBodyError`). The registered services'
 * interceptors must include `publicErrors`, which tells a refused request from a refused call.
 */
export function twirpRoute(register: (router: ConnectRouter) => void, log: Logger): ExtraRoute {
  const router = createConnectRouter({
    grpc: false,
    grpcWeb: false,
    jsonOptions: { useProtoFieldName: true, alwaysEmitImplicit: true, ignoreUnknownFields: true },
  });
  register(router);
  const handlers = new Map(router.handlers.map((h) => [TWIRP_PREFIX + h.requestPath, h]));
  return async (req, res, url) => {
    if (!url.pathname.startsWith(`${TWIRP_PREFIX}/`)) return false;
    try {
      const handler = handlers.get(url.pathname);
      if (!handler) {
        const [service, method] = url.pathname.slice(TWIRP_PREFIX.length + 1).split("/");
        if (service === "livekit.RoomService" && method !== undefined && NOT_SERVED.has(method)) throw errors.methodNotServed(method);
        throw errors.badRoute(`no method ${JSON.stringify(url.pathname.slice(0, 200))}`);
      }
      if (req.method !== "POST") throw errors.badRoute(`unsupported method ${String(req.method).slice(0, 16)}, use POST`);
      const contentType = String(req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
      const connectType = CONNECT_TYPE.get(contentType);
      if (connectType === undefined) {
        throw errors.badRoute(`unexpected Content-Type ${JSON.stringify(contentType.slice(0, 64))}, use application/json or application/protobuf`);
      }
      const contextValues = createContextValues();
      const uReq = universalRequestFromNodeRequest(req, res, undefined, contextValues);
      uReq.header.set("content-type", connectType);
      const uRes = await handler(uReq);
      if (uRes.status === 200) {
        uRes.header?.set("content-type", contentType);
        await universalResponseToNodeResponse(uRes, res);
      } else {
        const { code, message } = await connectErrorBody(uRes);
        const refused = reached(contextValues) ? undefined : requestBodyError(code, message, handler.method.input, API_READ_MAX_BYTES);
        if (refused === undefined) writeError(res, code, message);
        else {
          log.debug({ path: url.pathname, error: errorIdOf(refused) }, "twirp request refused");
          // An oversized body is not read to its end: the connection closes after the answer instead.
          discardRequestBody(req, res);
          writeError(res, refused.code, refused.rawMessage, errorIdOf(refused));
        }
      }
    } catch (e) {
      const error = toPublicError(e);
      if (errorIdOf(e) === undefined) log.error({ err: e, path: url.pathname }, "twirp request failed");
      if (res.headersSent) res.destroy();
      else {
        discardRequestBody(req, res);
        writeError(res, error.code, error.rawMessage, errorIdOf(error));
      }
    }
    return true;
  };
}

/** The code and message of a Connect unary error response (`{"code","message"}`). */
async function connectErrorBody(uRes: UniversalServerResponse): Promise<{ code: ConnectError["code"]; message: string }> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of uRes.body ?? []) chunks.push(chunk);
  try {
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    if (typeof body === "object" && body !== null && "code" in body && typeof body.code === "string") {
      const message = "message" in body && typeof body.message === "string" ? body.message : "";
      return { code: codeFromName(body.code), message };
    }
  } catch {
    // Not a Connect error body; answered as internal below.
  }
  const internal = errors.internal();
  return { code: internal.code, message: internal.rawMessage };
}

function writeError(res: Res, code: ConnectError["code"], message: string, errorId?: ErrorId): void {
  const twirp = twirpCodeOf(code, errorId);
  const body = JSON.stringify({ code: twirp.code, msg: message });
  res.setHeader("Content-Type", "application/json");
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.writeHead(twirp.status);
  res.end(body);
}
