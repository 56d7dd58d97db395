import { Code, type ConnectError } from "@connectrpc/connect";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { grpcMessage } from "../api/rpc-request-errors.js";
import { errorIdOf, errors, httpStatusOf, toPublicError } from "../errors.js";
import { authorizeConnection } from "../session/authorize-connection.js";
import { parseConnectParams, queryParams } from "../session/connect-params.js";
import type { NodeServices } from "../session/node-services.js";
import { corsPreflightHeaders, corsResponseHeaders } from "./cors-policy.js";
import type { HealthCheck } from "./health.js";
import { requestTarget } from "./request-target.js";

type NodeHandler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
export type Req = Parameters<NodeHandler>[0];
export type Res = Parameters<NodeHandler>[1];

/** Extra routes a server mounts next to the built-in ones (the demo page, the dev token endpoint). */
export type ExtraRoute = (req: Req, res: Res, url: URL) => Promise<boolean> | boolean;

/**
 * The plain HTTP routes of both ports (everything that is not an RPC): health, `/rtc/validate`, session
 * stats, Prometheus metrics. Errors are plain text with a status, like LiveKit's.
 */
export function createRestHandler(svc: NodeServices, health: HealthCheck, extra: ExtraRoute[] = []): (req: Req, res: Res) => void {
  return (req, res) => {
    void route(svc, health, extra, req, res).catch((e: unknown) => {
      // A catalogue error (the store down during a Redis outage: 503) is answered as itself; anything
      // else is a bug, logged with its stack and answered as 500 without internals.
      const error = answerFailure(res, e);
      const path = req.url?.split("?")[0];
      if (error.code === Code.Internal) svc.log.error({ err: e, path }, "http route failed");
      else svc.log.warn({ path, error: errorIdOf(error) }, "http route refused");
    });
  };
}

type GetRoute = (svc: NodeServices, health: HealthCheck, req: Req, res: Res, url: URL) => Promise<void> | void;

/** The plain routes, all GET (and HEAD). */
const GET_ROUTES: ReadonlyMap<string, GetRoute> = new Map<string, GetRoute>([
  ["/healthz", async (_svc, health, _req, res) => {
    const result = await health.check();
    json(res, result.ok ? 200 : 503, result.ok ? { status: "ok" } : { status: "unavailable", reason: result.reason });
  }],
  ["/", (_svc, _health, _req, res) => text(res, 200, "OK")],
  ["/rtc", (_svc, _health, _req, res) => text(res, 426, "WebSocket upgrade required")],
  ["/rtc/", (_svc, _health, _req, res) => text(res, 426, "WebSocket upgrade required")],
  ["/rtc/validate", (svc, _health, req, res, url) => validate(svc, req, res, url)],
  ["/volly/sessions/stats", async (svc, _health, _req, res) => json(res, 200, await sessionStats(svc))],
  ["/metrics", async (svc, _health, _req, res) => {
    await svc.metrics.refresh(() => svc.store.countRooms());
    res.setHeader("Content-Type", svc.metrics.registry.contentType);
    res.writeHead(200);
    res.end(await svc.metrics.registry.metrics());
  }],
]);

async function route(svc: NodeServices, health: HealthCheck, extra: ExtraRoute[], req: Req, res: Res): Promise<void> {
  const url = requestTarget(req.url);
  const preflight = req.method === "OPTIONS";
  for (const [name, value] of Object.entries(preflight ? corsPreflightHeaders() : corsResponseHeaders())) res.setHeader(name, value);
  if (url === undefined) {
    discardRequestBody(req, res);
    answerFailure(res, errors.malformedTarget());
    return;
  }
  if (preflight) {
    res.writeHead(204);
    res.end();
    return;
  }
  for (const handle of extra) if (await handle(req, res, url)) return;
  discardRequestBody(req, res);
  // A path nobody serves is 404 whatever the method (a POST to an unknown RPC, for one: Connect and gRPC
  // clients read 404 as unimplemented); 405, with the methods that would do, is for a route that exists.
  const get = GET_ROUTES.get(url.pathname);
  if (get === undefined) {
    // gRPC clients read a bare 404 as a transport failure (grpcio also logs it as a bad header): answer
    // them in their own protocol, a trailers-only UNIMPLEMENTED.
    const type = String(req.headers["content-type"] ?? "");
    if (type.startsWith("application/grpc")) return grpcUnimplemented(res, url.pathname, type.startsWith("application/grpc-web"));
    return text(res, 404, "not found");
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    return text(res, 405, "method not allowed");
  }
  await get(svc, health, req, res, url);
}

async function validate(svc: NodeServices, req: Req, res: Res, url: URL): Promise<void> {
  try {
    const auth = req.headers.authorization;
    const params = parseConnectParams(queryParams(url.searchParams), Array.isArray(auth) ? auth[0] : auth);
    await authorizeConnection(svc, params, "validate");
    text(res, 200, "success");
  } catch (e) {
    svc.log.debug({ error: errorIdOf(answerFailure(res, e)) }, "validate refused");
  }
}

/** Answers a failure as the catalogue maps it (anything unexpected: 500, without internals); returns it. */
function answerFailure(res: Res, e: unknown): ConnectError {
  const error = toPublicError(e);
  if (!res.headersSent) text(res, httpStatusOf(error.code), error.rawMessage);
  return error;
}

/** The seed's stats, cluster-wide (from the store), plus a few extra fields. */
export async function sessionStats(svc: NodeServices): Promise<Record<string, unknown>> {
  const stats = await svc.store.sessionStats();
  return {
    active_sessions: stats.activeSessions,
    expired_sessions: stats.expiredSessions,
    total_sessions: stats.totalSessions,
    algorithm: svc.config.pq.enabled ? svc.config.pq.algorithm : "none",
    pq_enabled: svc.config.pq.enabled,
    rekeys: stats.rekeys,
    node_id: svc.nodeId,
  };
}

/**
 * Answers before the request body was read (a POST to /healthz, a bad Twirp route): Node would otherwise
 * drop the keep-alive connection under the client's next request. The body is discarded and, on HTTP/1.x,
 * the connection announced as closing. HTTP/2 has no such header (its streams end on their own): Node
 * drops it there and prints an UnsupportedWarning on stderr, which is not a JSON log line.
 */
export function discardRequestBody(req: Req, res: Res): void {
  if (req.readableEnded) return;
  // Received whole (any GET, a small POST): nothing more can arrive under the next request, so the
  // connection stays open; `readableEnded` stays false until someone reads, which no GET route does.
  if (!req.complete && req.httpVersionMajor === 1) res.setHeader("Connection", "close");
  req.resume();
}

function grpcUnimplemented(res: Res, path: string, web: boolean): void {
  const error = errors.rpcNotFound(path);
  const headers = {
    "content-type": web ? "application/grpc-web+proto" : "application/grpc",
    "grpc-status": String(error.code),
    "grpc-message": grpcMessage(error.rawMessage),
  };
  // Over HTTP/2 the status must come in the one HEADERS frame that ends the stream (gRPC's trailers-only
  // form): the compatibility API's writeHead + end sends an empty DATA frame after it, which grpc-js
  // reads as a call that ended without a status.
  if ("stream" in res && !res.headersSent) {
    res.stream.respond({ ":status": 200, ...headers }, { endStream: true });
    return;
  }
  res.writeHead(200, headers);
  res.end();
}

function text(res: Res, status: number, body: string): void {
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.writeHead(status);
  res.end(body);
}

function json(res: Res, status: number, body: unknown): void {
  res.setHeader("Content-Type", "application/json");
  res.writeHead(status);
  res.end(JSON.stringify(body));
}
