import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { Code, createContextValues, type ConnectError, type ContextValues } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest, UniversalServerResponse } from "@connectrpc/connect/protocol";
import type { Logger } from "pino";
import { codeFromName, codeName, errorIdOf, httpStatusOf } from "../errors.js";
import { reached, requestBodyError } from "./request-body-errors.js";

type Translate = (code: Code, message: string) => ConnectError | undefined;
type Handle = (req: UniversalServerRequest) => Promise<UniversalServerResponse>;

/**
 * Replaces each of `handlers[from..]` by what `wrap` makes of it, with the handler's own fields copied
 * over: connect-es routes and negotiates by them, so a field a connect-es release adds is copied here.
 */
function wrapHandlers(handlers: UniversalHandler[], from: number, wrap: (inner: UniversalHandler) => Handle): void {
  for (let i = from; i < handlers.length; i++) {
    const inner = handlers[i];
    if (inner === undefined) continue;
    const { protocolNames, service, method, requestPath, allowedMethods, supportedContentType } = inner;
    handlers[i] = Object.assign(wrap(inner), { protocolNames, service, method, requestPath, allowedMethods, supportedContentType });
  }
}

/**
 * Wraps the handlers `handlers[from..]` (one service's, just registered) so that a request connect-es
 * refuses while reading it (a body that does not decode, one over `maxBytes`) is answered with the
 * catalogue's error instead of connect-es's wording (`parse binary: premature EOF`, `internal` for a bad
 * body, `readMaxBytes` in the text), in each protocol's own form: Connect's JSON error and HTTP status,
 * gRPC's trailers, gRPC-web's trailer frame. connect-es parses before any interceptor runs, so this is
 * the first place that sees those answers. The service's interceptors must include `publicErrors`, which
 * marks the calls that decoded; their answers pass unchanged, except that gRPC's `grpc-message` is
 * percent-encoded as the gRPC spec says (connect-es escapes `:` and `/` too, which grpc-js shows as is).
 */
export function answerRequestErrorsFromCatalogue(handlers: UniversalHandler[], from: number, maxBytes: number, log: Logger): void {
  wrapHandlers(handlers, from, (inner) => withCatalogueAnswers(inner, maxBytes, log));
}

function withCatalogueAnswers(inner: UniversalHandler, maxBytes: number, log: Logger): Handle {
  const rpc = `${inner.service.typeName}/${inner.method.name}`;
  return async (req) => {
    const contextValues = req.contextValues ?? createContextValues();
    const res = await inner({ ...req, contextValues });
    let refused: ConnectError | undefined;
    const translate: Translate = (code, message) => {
      refused = requestBodyError(code, message, inner.method.input, maxBytes, req.method === "GET");
      if (refused !== undefined) log.debug({ rpc, error: errorIdOf(refused) }, "api request refused");
      return refused;
    };
    const type = res.header?.get("content-type") ?? "";
    let answer: UniversalServerResponse;
    if (type.startsWith("application/grpc-web")) answer = reached(contextValues) ? res : await grpcWebAnswer(res, translate);
    else if (type.startsWith("application/grpc")) return grpcAnswer(res, contextValues, translate);
    else if (res.status !== 200 && !reached(contextValues)) answer = await connectAnswer(res, translate);
    else return res;
    // connect-es stops reading an oversized body and connect-node then destroys the request, and with it an
    // HTTP/1.1 connection the client would reuse (its next request fails with ECONNRESET): say it closes.
    if (refused !== undefined && refused.code === Code.ResourceExhausted && req.httpVersion.startsWith("1.")) answer.header?.set("connection", "close");
    return answer;
  };
}

/** Connect unary: the error is the JSON body `{code, message}` and the HTTP status follows the code. */
async function connectAnswer(res: UniversalServerResponse, translate: Translate): Promise<UniversalServerResponse> {
  if (res.body === undefined) return res;
  const bytes = await readAll(res.body);
  const sent = connectErrorOf(decompress(bytes, res.header?.get("content-encoding")));
  const error = sent && translate(sent.code, sent.message);
  if (error === undefined) return { ...res, body: once(bytes) };
  const body = new TextEncoder().encode(JSON.stringify({ code: codeName(error.code), message: error.rawMessage }));
  const header = new Headers(res.header);
  header.delete("content-encoding");
  header.set("content-length", String(body.byteLength));
  return { ...res, status: httpStatusOf(error.code), header, body: once(body) };
}

function connectErrorOf(json: Uint8Array | undefined): { code: Code; message: string } | undefined {
  if (json === undefined) return undefined;
  try {
    const body: unknown = JSON.parse(new TextDecoder().decode(json));
    if (typeof body !== "object" || body === null || !("code" in body) || typeof body.code !== "string") return undefined;
    return { code: codeFromName(body.code), message: "message" in body && typeof body.message === "string" ? body.message : "" };
  } catch {
    return undefined;
  }
}

/**
 * gRPC: the status is in the trailers, which connect-node writes once the body is done, so they are
 * settled then (for a request that never decoded, the body is empty).
 */
function grpcAnswer(res: UniversalServerResponse, values: ContextValues, translate: Translate): UniversalServerResponse {
  return afterBody(res, (trailer) => {
    if (reached(values) || !rewriteStatus(trailer, translate)) respell(trailer);
  });
}

/** Runs `settle` on the trailers once the body is done (connect-node writes them after it). */
function afterBody(res: UniversalServerResponse, settle: (trailer: Headers) => void): UniversalServerResponse {
  if (res.trailer === undefined) return res;
  const trailer: Headers = res.trailer;
  const body = res.body;
  async function* settled(): AsyncGenerator<Uint8Array> {
    if (body !== undefined) yield* body;
    settle(trailer);
  }
  return { ...res, body: settled() };
}

/** `grpc-message` re-encoded as the spec says (`grpcMessage`) from connect-es's `encodeURIComponent`. */
function respell(trailer: Headers): void {
  const message = trailer.get("grpc-message");
  if (message !== null) trailer.set("grpc-message", grpcMessage(decodeMessage(message)));
}

/**
 * Wraps `handlers[from..]` (one service's, just registered) so that their gRPC answers carry
 * `grpc-message` encoded as the gRPC spec says, and nothing else changes: for a service whose errors come
 * from the catalogue already (SignalService), connect-es's over-encoding is all there is to mend (grpc-js
 * showed "malformed message%3A ..."). gRPC-web's trailers are in the body and are left as they are.
 */
export function encodeGrpcMessagesBySpec(handlers: UniversalHandler[], from: number): void {
  wrapHandlers(handlers, from, (inner) => async (req) => {
    const res = await inner(req);
    const type = res.header?.get("content-type") ?? "";
    return type.startsWith("application/grpc") && !type.startsWith("application/grpc-web") ? afterBody(res, respell) : res;
  });
}

/**
 * gRPC-web: the status is a trailer frame (flag 0x80) at the end of the body; for a request that never
 * decoded it is the whole body, a few hundred bytes.
 */
async function grpcWebAnswer(res: UniversalServerResponse, translate: Translate): Promise<UniversalServerResponse> {
  if (res.body === undefined) return res;
  const bytes = await readAll(res.body);
  const last = lastFrame(bytes);
  if (last === undefined || (last.flags & TRAILER_FLAG) === 0) return { ...res, body: once(bytes) };
  const text = (last.flags & COMPRESSED_FLAG) === 0 ? last.data : decompress(last.data, res.header?.get("grpc-encoding"));
  if (text === undefined) return { ...res, body: once(bytes) };
  const trailer = parseTrailer(text);
  if (!rewriteStatus(trailer, translate)) return { ...res, body: once(bytes) };
  const lines: string[] = [];
  trailer.forEach((value, key) => lines.push(`${key}: ${value}\r\n`));
  const data = new TextEncoder().encode(lines.join(""));
  const frame = new Uint8Array(5 + data.byteLength);
  frame[0] = TRAILER_FLAG;
  new DataView(frame.buffer).setUint32(1, data.byteLength);
  frame.set(data, 5);
  return { ...res, body: once(Buffer.concat([bytes.subarray(0, last.offset), frame])) };
}

/** Replaces a gRPC status (`grpc-status`, `grpc-message`) by its catalogue translation; true if it did. */
function rewriteStatus(trailer: Headers, translate: Translate): boolean {
  const status = Number(trailer.get("grpc-status") ?? "0");
  if (status === 0 || !(status in Code)) return false;
  const error = translate(status as Code, decodeMessage(trailer.get("grpc-message") ?? ""));
  if (error === undefined) return false;
  trailer.set("grpc-status", String(error.code));
  trailer.set("grpc-message", grpcMessage(error.rawMessage));
  trailer.delete("grpc-status-details-bin");
  return true;
}

/**
 * `grpc-message` as the gRPC spec encodes it: UTF-8, with bytes outside printable ASCII and `%` itself
 * percent-encoded. grpc-js decodes with `decodeURI`, which leaves `%3A` and the like as they are.
 */
export function grpcMessage(message: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(message)) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** connect-es writes `grpc-message` with `encodeURIComponent`; a value that is not valid stays raw. */
function decodeMessage(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

const TRAILER_FLAG = 0x80;
const COMPRESSED_FLAG = 0x01;

/** The last length-prefixed frame of a gRPC-web body (flags, uint32 length, data), if the body is well formed. */
function lastFrame(bytes: Uint8Array): { offset: number; flags: number; data: Uint8Array } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let last: { offset: number; flags: number; data: Uint8Array } | undefined;
  for (let offset = 0; offset < bytes.byteLength; ) {
    if (offset + 5 > bytes.byteLength) return undefined;
    const end = offset + 5 + view.getUint32(offset + 1);
    if (end > bytes.byteLength) return undefined;
    last = { offset, flags: view.getUint8(offset), data: bytes.subarray(offset + 5, end) };
    offset = end;
  }
  return last;
}

function parseTrailer(data: Uint8Array): Headers {
  const trailer = new Headers();
  for (const line of new TextDecoder().decode(data).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) trailer.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return trailer;
}

/** An error body in a response encoding connect-node offers (gzip, br); undefined when it cannot be read. */
function decompress(bytes: Uint8Array, encoding: string | null | undefined): Uint8Array | undefined {
  try {
    if (encoding === null || encoding === undefined || encoding === "" || encoding === "identity") return bytes;
    if (encoding === "gzip") return gunzipSync(bytes);
    if (encoding === "br") return brotliDecompressSync(bytes);
  } catch {
    // Not what the header says: left unchanged.
  }
  return undefined;
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
