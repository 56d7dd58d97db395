import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { SignalRequestSchema, SignalService, type SignalRequest, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { DisconnectReason, LeaveAction } from "../../gen/volly/signaling/v1/models_pb.js";
import { isDeadline } from "../api/call-deadline.js";
import { requestBodyError } from "../api/request-body-errors.js";
import { encodeGrpcMessagesBySpec } from "../api/rpc-request-errors.js";
import { errors } from "../errors.js";
import { admitConnection, type AdmittedConnection } from "../session/admit-connection.js";
import { metadataParams } from "../session/connect-params.js";
import type { NodeServices } from "../session/node-services.js";
import { SignalSession } from "../session/signal-session.js";
import type { ConnectionSlots } from "../rtc/connection-limiter.js";
import { CLOSE_GRACE_MS, callStream } from "../http/call-stream.js";
import { peerAddress } from "./peer-address.js";
import { StreamTransport } from "./stream-transport.js";

/**
 * `SignalService.Signal` over gRPC, Connect and gRPC-web: the same `SignalSession` as `/rtc`. The token
 * is `authorization: Bearer` metadata; resume is `volly-reconnect`, `volly-sid`, `volly-last-message-id`.
 */
export function registerSignalService(router: ConnectRouter, svc: NodeServices, slots: ConnectionSlots): void {
  const first = router.handlers.length;
  router.service(SignalService, {
    async *signal(requests: AsyncIterable<SignalRequest>, ctx: HandlerContext): AsyncGenerator<SignalResponse> {
      const ip = ctx.values.get(peerAddress);
      // Once the call is over (refused, or its session ended), its stream gets the close grace: a client
      // that keeps its window shut cannot take the status, and no request deadline ends this stream.
      const stream = ctx.values.get(callStream);
      let admitted: AdmittedConnection;
      try {
        admitted = await admitConnection(svc, slots, {
          ip,
          param: metadataParams((name) => ctx.requestHeader.get(name)),
          authorization: ctx.requestHeader.get("authorization") ?? undefined,
          source: "metadata",
        });
      } catch (e) {
        stream?.closeWithin(CLOSE_GRACE_MS);
        throw e;
      }
      // The session ends by closing its transport; the handler may then be stuck writing a response into
      // a shut window, so the grace starts there, not when the handler returns.
      const transport = new StreamTransport(ip, () => stream?.closeWithin(CLOSE_GRACE_MS));
      const session = new SignalSession(svc, transport, admitted, admitted.params);
      // connect-es aborts the context for the client's deadline as for a cancel. A cancel is a drop (the
      // client is gone); at a deadline the client is still reading, so it gets what every server-side end
      // sends, `error` and `leave` (resume), and the stream ends deadline_exceeded rather than OK.
      const onAbort = () => {
        if (!isDeadline(ctx.signal.reason)) return session.transportClosed();
        session.end({
          reason: DisconnectReason.CONNECTION_TIMEOUT,
          action: LeaveAction.RESUME,
          error: errors.callDeadline("stream"),
          dispose: session.joined ? "away" : "none",
        });
      };
      ctx.signal.addEventListener("abort", onAbort);
      void session.start();
      void (async () => {
        try {
          for await (const request of requests) {
            session.receive(request);
            // Flow control: a paused session takes no more until its queue is short again.
            if (transport.inputGate !== undefined) await transport.inputGate;
          }
          session.inputEnded();
        } catch (e) {
          // An aborted request stream was ended by `onAbort`.
          if (session.closed) return;
          // An undecodable message: the request stream cannot be read past it, so the session ends as on any
          // fatal error, `error` and `leave` first, with the request's error (invalid_argument for bad bytes).
          const error = ConnectError.from(e);
          // connect-es reports request bytes that do not parse as Internal, and JSON that does not fit in
          // its own words: for the client it is its error, in the catalogue's (as the room API answers it).
          const { maxFrameBytes } = svc.config.limits;
          // A message over `readMaxBytes` (the frame limit) is refused unread; the stream cannot skip it.
          const oversized = error.code === Code.ResourceExhausted;
          if (oversized) svc.metrics.limitsHit.inc({ limit: "frame_size" });
          const refused = oversized ? errors.frameTooLarge(maxFrameBytes) : requestBodyError(error.code, error.rawMessage, SignalRequestSchema, maxFrameBytes)
            ?? (error.code === Code.Internal ? errors.malformedMessage(`request does not decode as ${SignalRequestSchema.typeName}`) : error);
          session.end({ reason: DisconnectReason.PROTOCOL_ERROR, action: LeaveAction.DISCONNECT, error: refused, dispose: session.joined ? "leave" : "none" });
        }
      })();
      try {
        yield* transport.responses();
      } finally {
        // A reader waiting on a paused session must not wait for ever once the stream is over.
        transport.resumeInput();
        ctx.signal.removeEventListener("abort", onAbort);
        session.transportClosed();
        slots.release(ip);
        stream?.closeWithin(CLOSE_GRACE_MS);
      }
    },
  }, {
    readMaxBytes: svc.config.limits.maxFrameBytes,
    // Responses are never compressed (nor are they on /rtc). grpc-js decompresses a message off the event
    // loop and reads nothing more meanwhile, and a non-OK status that arrives then is delivered at once, the
    // messages before it dropped (grpc/grpc-node#2764): a fatal end's `error` and `leave` right behind a
    // compressed message (a `pq_handshake_response` is over connect-es's 1 KiB threshold) never reached it.
    compressMinBytes: Number.POSITIVE_INFINITY,
  });
  encodeGrpcMessagesBySpec(router.handlers, first);
}
