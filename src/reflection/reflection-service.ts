import { create, fromBinary, toBinary, type DescService } from "@bufbuild/protobuf";
import type { ConnectError, ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { encodeGrpcMessagesBySpec } from "../api/rpc-request-errors.js";
import { errors } from "../errors.js";
import type { NodeServices } from "../session/node-services.js";
import { DescriptorIndex } from "./descriptor-index.js";
import { ReflectionStreams } from "./reflection-streams.js";

type MessageResponse = v1.ServerReflectionResponse["messageResponse"];

type ReflectionServices = Pick<NodeServices, "config" | "metrics">;

/** One set of bounds per node, shared by the routers of both its ports. */
const streamsOfNode = new WeakMap<ReflectionServices, ReflectionStreams>();

/**
 * gRPC server reflection, versions v1 and v1alpha (wire-identical), on `router`: lists every service
 * registered on the router (reflection included) and serves their descriptors, so `buf curl`, grpcurl and
 * other reflection clients can discover and call them. The router's services are read on the first
 * request, so services registered after this one are listed too. Reflection needs no token, so its streams
 * are bounded in number and idle time (`ReflectionStreams`).
 */
export function registerReflection(router: ConnectRouter, svc: ReflectionServices): void {
  let index: DescriptorIndex | undefined;
  const indexOf = () => (index ??= new DescriptorIndex(servicesOf(router)));
  const bounded = streamsOf(svc);
  const first = router.handlers.length;
  router.service(v1.ServerReflection, {
    async *serverReflectionInfo(requests, ctx) {
      for await (const request of bounded.requests(requests, ctx)) yield answer(indexOf(), request);
    },
  });
  router.service(v1alpha.ServerReflection, {
    async *serverReflectionInfo(requests, ctx) {
      for await (const request of bounded.requests(requests, ctx)) {
        const asV1 = fromBinary(v1.ServerReflectionRequestSchema, toBinary(v1alpha.ServerReflectionRequestSchema, request));
        yield fromBinary(v1alpha.ServerReflectionResponseSchema, toBinary(v1.ServerReflectionResponseSchema, answer(indexOf(), asV1)));
      }
    },
  });
  // The bounds end a stream with a status; connect-es over-encodes its grpc-message (grpc-js showed "%3B").
  encodeGrpcMessagesBySpec(router.handlers, first);
}

function streamsOf(svc: ReflectionServices): ReflectionStreams {
  let streams = streamsOfNode.get(svc);
  if (streams === undefined) {
    const { maxReflectionStreams, httpRequestTimeoutMs } = svc.config.limits;
    streams = new ReflectionStreams({ maxStreams: maxReflectionStreams, idleMs: httpRequestTimeoutMs }, svc.metrics);
    streamsOfNode.set(svc, streams);
  }
  return streams;
}

/** The answer to one reflection request; questions that cannot be answered get an `error_response`. */
function answer(index: DescriptorIndex, request: v1.ServerReflectionRequest): v1.ServerReflectionResponse {
  return create(v1.ServerReflectionResponseSchema, {
    validHost: request.host,
    originalRequest: request,
    messageResponse: respond(index, request.messageRequest),
  });
}

function respond(index: DescriptorIndex, r: v1.ServerReflectionRequest["messageRequest"]): MessageResponse {
  switch (r.case) {
    case "listServices":
      return {
        case: "listServicesResponse",
        value: create(v1.ListServiceResponseSchema, { service: index.serviceNames.map((name) => ({ name })) }),
      };
    case "fileByFilename":
      return files(index.fileByName(r.value), `file ${JSON.stringify(r.value)}`);
    case "fileContainingSymbol":
      return files(index.fileContainingSymbol(r.value), `symbol ${JSON.stringify(r.value)}`);
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = r.value;
      return files(index.fileContainingExtension(containingType, extensionNumber), `extension ${extensionNumber} of ${JSON.stringify(containingType)}`);
    }
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbersOf(r.value);
      if (numbers === undefined) return failure(errors.reflectionNotFound(`type ${JSON.stringify(r.value)}`));
      return {
        case: "allExtensionNumbersResponse",
        value: create(v1.ExtensionNumberResponseSchema, { baseTypeName: r.value.replace(/^\./, ""), extensionNumber: numbers }),
      };
    }
    default:
      return failure(errors.malformedMessage("reflection request names no question"));
  }
}

function files(descriptors: Uint8Array[] | undefined, what: string): MessageResponse {
  if (descriptors === undefined) return failure(errors.reflectionNotFound(what));
  return { case: "fileDescriptorResponse", value: create(v1.FileDescriptorResponseSchema, { fileDescriptorProto: descriptors }) };
}

function failure(error: ConnectError): MessageResponse {
  return { case: "errorResponse", value: create(v1.ErrorResponseSchema, { errorCode: error.code, errorMessage: error.rawMessage }) };
}

/** Each service registered on the router, once, in registration order. */
function servicesOf(router: ConnectRouter): DescService[] {
  const services = new Map<string, DescService>();
  for (const h of router.handlers) services.set(h.service.typeName, h.service);
  return [...services.values()];
}
