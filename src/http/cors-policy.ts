import { cors } from "@connectrpc/connect";

/**
 * The one CORS policy of both ports, for the RPC routes (Connect, gRPC-web) and the plain ones (Twirp,
 * REST) alike: any origin, without credentials, since every call carries its own bearer token. The lists
 * are connect-es's (`cors`), so they follow the protocols: what a browser's Connect or gRPC-web client
 * sends (plus `authorization`), and what it must read (gRPC-web's status headers, Connect's encodings).
 */
export const CORS_ALLOW_ORIGIN = "*";
export const CORS_ALLOW_METHODS = unique([...cors.allowedMethods, "OPTIONS"]).join(", ");
export const CORS_ALLOW_HEADERS = unique(["authorization", ...cors.allowedHeaders].map((h) => h.toLowerCase())).join(", ");
export const CORS_EXPOSE_HEADERS = unique(cors.exposedHeaders.map((h) => h.toLowerCase())).join(", ");
/** How long a browser may reuse a preflight's answer (seconds). */
export const CORS_MAX_AGE = "86400";

/** The headers of every answer, preflight or not. */
export function corsResponseHeaders(): Record<string, string> {
  return { "access-control-allow-origin": CORS_ALLOW_ORIGIN, "access-control-expose-headers": CORS_EXPOSE_HEADERS };
}

/** The headers of a preflight's 204. */
export function corsPreflightHeaders(): Record<string, string> {
  return {
    ...corsResponseHeaders(),
    "access-control-allow-methods": CORS_ALLOW_METHODS,
    "access-control-allow-headers": CORS_ALLOW_HEADERS,
    "access-control-max-age": CORS_MAX_AGE,
  };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
