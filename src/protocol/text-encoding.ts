import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";

/**
 * How UTF-8 becomes text, for the server and the SDK alike. A WHATWG `TextDecoder` by default
 * (`ignoreBOM: false`) drops a leading U+FEFF, taking it for the byte order mark of a document. A string
 * field is not a document: U+FEFF is a valid first character of a name, and dropping it turned
 * "\ufeffbob" into "bob", another participant. The stores keep records as protobuf, and their indexes use
 * the name as it was, so a record read back no longer matched its own key. Its participant was then never
 * removed. Every string value keeps every character it has.
 *
 * Importing this module installs `decodeUtf8Value` as protobuf-es's decoder, process-wide (its
 * `configureTextEncoding` hook is a global, shared by every copy of the library). ES modules are evaluated
 * before the modules that import them, so it is in place before the first message is decoded: the signal
 * codec imports it (and with it the SDK, in its own runtime, and the server's sessions), as do both
 * stores' record codecs, the hand-parsed frames, and the server's start (protobuf-utf8.ts) ahead of any
 * RPC body.
 */

const lenientValue = new TextDecoder("utf-8", { ignoreBOM: true });
const strictValue = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientJson = new TextDecoder("utf-8");
const strictJson = new TextDecoder("utf-8", { fatal: true });

/**
 * The UTF-8 of a string value (a protobuf string field, a name in a hand-parsed frame), a leading U+FEFF
 * included. `strict` throws a TypeError on bytes that are not UTF-8. Without it they become U+FFFD, as
 * protobuf-es does for fields that do not ask for validation.
 */
export function decodeUtf8Value(bytes: Uint8Array, strict = false): string {
  return (strict ? strictValue : lenientValue).decode(bytes);
}

/**
 * The UTF-8 of a whole JSON text (a WebSocket text frame, a record's JSON plaintext). A leading U+FEFF
 * there is the document's byte order mark, which `JSON.parse` would refuse, so it is dropped. The string
 * values inside keep theirs, because only the document's first character is looked at.
 */
export function decodeJsonText(bytes: Uint8Array, strict = false): string {
  return (strict ? strictJson : lenientJson).decode(bytes);
}

const base = getTextEncoding();
// Whatever encoder is in place is kept: the server's fast ASCII encoder (protobuf-utf8.ts) wraps this one
// or is wrapped by it, in either order.
configureTextEncoding({ checkUtf8: base.checkUtf8, encodeUtf8: base.encodeUtf8, decodeUtf8: decodeUtf8Value });
