import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { ConnectError } from "@connectrpc/connect";
import { httpStatusOf } from "../errors.js";
import { corsResponseHeaders } from "./cors-policy.js";

/**
 * Reason phrases Node lacks for statuses the catalogue maps to: 499 is nginx's, which Connect's code table
 * uses for `canceled`.
 */
const EXTRA_PHRASES: Readonly<Record<number, string>> = { 499: "Client Closed Request" };

/** The reason phrase of `status` (the phrase is informative only, but a wrong one misleads whoever reads it). */
function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? EXTRA_PHRASES[status] ?? "Unknown";
}

/**
 * Answers on a socket no `ServerResponse` owns (a refused WebSocket upgrade, a request Node's parser
 * refused) with `status` and `reason` as a plain-text body, then closes it. It carries the CORS headers of
 * every other answer: a page on another origin reads the reason rather than "Failed to fetch".
 */
export function writeRawResponse(socket: Duplex, status: number, reason: string): void {
  const cors = Object.entries(corsResponseHeaders()).map(([name, value]) => `${name}: ${value}\r\n`).join("");
  socket.end(
    `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\nContent-Type: text/plain; charset=utf-8\r\n${cors}` +
      `Content-Length: ${Buffer.byteLength(reason)}\r\nConnection: close\r\n\r\n${reason}`,
  );
}

/** A catalogue error as a raw answer, LiveKit style: its HTTP status, its message as a plain-text body. */
export function writeRawError(socket: Duplex, error: ConnectError): void {
  if (!socket.destroyed) writeRawResponse(socket, httpStatusOf(error.code), error.rawMessage);
}
