import { createContextKey, createContextValues, type ContextValues } from "@connectrpc/connect";
import type * as http from "node:http";
import type * as http2 from "node:http2";

/**
 * The client's IP as the socket reports it, for the per-IP connection limit of RPC streams. Never a
 * header: `x-forwarded-for` is whatever the client writes, so counting by it let one client take any
 * number of slots, and all clients without it share one.
 */
export const peerAddress = createContextKey<string>("", { description: "the client's IP address" });

/** Handed to connect-node's adapter: every call's context carries its socket's remote address. */
export function peerAddressValues(req: http.IncomingMessage | http2.Http2ServerRequest): ContextValues {
  return createContextValues().set(peerAddress, req.socket.remoteAddress ?? "");
}
