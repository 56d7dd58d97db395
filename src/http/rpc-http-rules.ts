import type { UniversalHandler, UniversalServerRequest, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { corsPreflightHeaders, corsResponseHeaders } from "./cors-policy.js";

/**
 * Wraps every RPC route of a router (all services: connect-node serves `handlers` by path and never calls
 * the plain-HTTP fallback for them) so that the HTTP rules the plain routes follow hold there too:
 *
 * - CORS, the ports' one policy (`cors-policy.ts`): a preflight (`OPTIONS`) is answered 204, and every
 *   answer carries `Access-Control-Allow-Origin` and `-Expose-Headers` (gRPC-web's status is in headers a
 *   browser script may not read otherwise). connect-es itself answers OPTIONS with a bare 405.
 * - A 405 names the methods that would do (`Allow`, which RFC 9110 requires), and 405 and 415 say why in a
 *   short plain-text body, as the plain routes do; connect-es sends both empty.
 */
export function applyHttpRulesToRpcRoutes(handlers: UniversalHandler[]): void {
  for (let i = 0; i < handlers.length; i++) {
    const handler = handlers[i];
    if (handler !== undefined) handlers[i] = withHttpRules(handler);
  }
}

function withHttpRules(inner: UniversalHandler): UniversalHandler {
  const allow = [...inner.allowedMethods, "OPTIONS"].join(", ");
  const handle = async (req: UniversalServerRequest): Promise<UniversalServerResponse> => {
    if (req.method === "OPTIONS") return { status: 204, header: new Headers({ ...corsPreflightHeaders(), allow }) };
    const res = await inner(req);
    if (res.status === 405) return refusal(req, 405, "method not allowed", { allow });
    if (res.status === 415) return refusal(req, 415, unsupportedMediaType(req));
    const header = res.header ?? new Headers();
    for (const [name, value] of Object.entries(corsResponseHeaders())) header.set(name, value);
    return { ...res, header };
  };
  const { protocolNames, service, method, requestPath, allowedMethods, supportedContentType } = inner;
  return Object.assign(handle, { protocolNames, service, method, requestPath, allowedMethods, supportedContentType });
}

/**
 * A refusal before the body was read. On HTTP/1.x the connection is announced as closing, as the plain
 * routes do, since a body left unread would otherwise be taken for the client's next request.
 */
function refusal(req: UniversalServerRequest, status: number, reason: string, extra: Record<string, string> = {}): UniversalServerResponse {
  const body = new TextEncoder().encode(reason);
  // A new Headers: connect-es answers 405 and 415 with shared constant objects.
  const header = new Headers({ ...corsResponseHeaders(), ...extra, "content-type": "text/plain; charset=utf-8", "content-length": String(body.byteLength) });
  if (req.httpVersion.startsWith("1.")) header.set("connection", "close");
  return { status, header, body: once(body) };
}

function unsupportedMediaType(req: UniversalServerRequest): string {
  if (req.method === "GET") return "a Connect GET needs the query parameters encoding (json or proto) and message";
  const type = (req.header.get("content-type") ?? "").slice(0, 100);
  return `unsupported content type ${JSON.stringify(type)}: this route takes Connect, gRPC and binary gRPC-web ` +
    "(application/grpc-web+proto, application/grpc-web+json); application/grpc-web-text is not supported";
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
