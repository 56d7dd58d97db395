import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextKey, type ContextValues } from "@connectrpc/connect";
import { errors } from "../errors.js";

/**
 * Set (by `publicErrors`) when a call gets as far as the room API's interceptors, i.e. its request decoded.
 * An error answered without it comes from connect-es reading the request, before any of our code ran,
 * and carries connect-es's wording; `requestBodyError` says which of those are the client's bad body.
 */
export const reachedImplementation = createContextKey(false, { description: "volly.reachedImplementation" });

/** Whether the call with these context values got past decoding (see `reachedImplementation`). */
export function reached(values: ContextValues | undefined): boolean {
  return values?.get(reachedImplementation) ?? false;
}

// connect-es's InvalidArgument errors about headers rather than the body (timeouts, the Connect protocol
// version): they are left as they are. Anchored, since decode errors may name a field such as `empty_timeout`.
const HEADER_ERROR = /^(protocol error: invalid (connect|grpc) timeout value|timeout \d+ms must be|missing required (header|parameter)|(connect-protocol-version|connect) must be )/;

// connect-es's refusal of a request compression it has no decoder for (all of them on the Twirp routes).
const UNKNOWN_COMPRESSION = /^unknown compression "(.*)": supported encodings are /;

// connect-es's refusal of an envelope with the compressed flag when the request names no encoding.
const COMPRESSED_WITHOUT_ENCODING = "received compressed envelope, but do not know how to decompress";

/**
 * The catalogue error for a request connect-es refused before our code ran, from the code and message it
 * answered with; undefined when that refusal is not about the body (left unchanged).
 *
 * - `resource_exhausted`: the body (or an envelope, or what it decompresses to) passed `readMaxBytes`,
 *   the only limit checked before the implementation → `request_too_large`.
 * - `internal` "parse binary: ...": protobuf bytes that do not decode (premature EOF, bad wire type,
 *   invalid UTF-8 in a string); connect-es follows gRPC's habit of calling that internal, but it is the
 *   client's mistake → `malformed_message`. "received compressed envelope, but do not know how to
 *   decompress" (the compressed flag without `grpc-encoding`) → `compressed_without_encoding`, still
 *   internal as gRPC's compression spec says. Any other internal error stays internal.
 * - `invalid_argument`, except the header errors above: JSON that does not parse or does not fit the
 *   message, a truncated envelope, a body shorter than its Content-Length, a compressed body that does not
 *   decompress → `malformed_message`.
 * - `unimplemented` "unknown compression": a Content-Encoding (grpc-encoding) the route does not decode
 *   → `compression_unsupported`, same code; connect-es's header naming the encodings it does take stays.
 * - For a Connect GET (`inQuery`: the message is the `message` query parameter), `internal` "internal
 *   error" too: connect-es lets the base64 decoder's plain Error through, and decoding the query is the
 *   only thing a GET does before the implementation.
 */
export function requestBodyError(code: Code, message: string, input: DescMessage, maxBytes: number, inQuery = false): ConnectError | undefined {
  switch (code) {
    case Code.ResourceExhausted:
      return errors.requestTooLarge(maxBytes);
    case Code.Internal:
      if (message === COMPRESSED_WITHOUT_ENCODING) return errors.compressedWithoutEncoding();
      return message.startsWith("parse binary:") || (inQuery && message === "internal error") ? malformed(input, inQuery) : undefined;
    case Code.InvalidArgument:
      return HEADER_ERROR.test(message) ? undefined : malformed(input, inQuery);
    case Code.Unimplemented: {
      const encoding = UNKNOWN_COMPRESSION.exec(message)?.[1];
      return encoding === undefined ? undefined : errors.compressionUnsupported(encoding);
    }
    default:
      return undefined;
  }
}

function malformed(input: DescMessage, inQuery: boolean): ConnectError {
  return errors.malformedMessage(`${inQuery ? "the message query parameter" : "request body"} does not decode as ${input.typeName}`);
}
