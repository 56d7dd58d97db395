import { base64Encode } from "@bufbuild/protobuf/wire";
import { fromBinary, fromJson, ScalarType, toBinary, toJson, type DescMessage, type JsonObject, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { decodeJsonText } from "./text-encoding.js";

/**
 * Encoding of signal envelopes on a connection, shared by the server and the browser/Node SDK.
 * - `protobuf`: binary frames.
 * - `json`: canonical protobuf JSON (`{"pqHandshake":{...}}`), lowerCamelCase names.
 * - `flat`: the seed's form (`{"type":"pq_handshake","client_public_key":"..."}`): `type` is the oneof
 *   field's proto name, the other keys are that message's fields (proto names), plus the envelope's own
 *   fields (`request_id`, `message_id`) at the top level.
 */
export type WireFormat = "protobuf" | "json" | "flat";

/**
 * A frame that cannot be decoded; `unknownType` is set when only the flat `type` was not recognised,
 * `requestId` when a JSON frame's `request_id` could still be read, so that the answer can repeat it, and
 * `format` when it was a JSON object whose dialect (flat or canonical) is known, so the answer is in it.
 */
export class CodecError extends Error {
  constructor(message: string, readonly unknownType?: string, readonly requestId = 0, readonly format?: WireFormat) {
    super(message);
    this.name = "CodecError";
  }
}

const utf8Encoder = new TextEncoder();

/** Encodes an envelope as a frame: bytes for `protobuf`, a string for the JSON forms. */
export function encodeFrame<D extends DescMessage>(schema: D, message: MessageShape<D>, format: WireFormat): Uint8Array | string {
  if (format === "protobuf") return toBinary(schema, message);
  return JSON.stringify(format === "flat" ? toFlat(schema, message) : toJson(schema, message));
}

/**
 * Decodes a frame. Binary frames are protobuf; text frames are JSON in either form (told apart by a
 * string `type` key). Returns the message and the form it was in.
 */
export function decodeFrame<D extends DescMessage>(schema: D, frame: Uint8Array | string): { message: MessageShape<D>; format: WireFormat } {
  if (typeof frame !== "string") {
    try {
      return { message: fromBinary(schema, frame), format: "protobuf" };
    } catch {
      throw new CodecError("not a valid protobuf frame");
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch {
    throw new CodecError("not valid JSON");
  }
  return decodeJsonValue(schema, value);
}

/** Encodes an envelope as the plaintext of a secure record: protobuf bytes, or UTF-8 JSON of the form. */
export function encodePlaintext<D extends DescMessage>(schema: D, message: MessageShape<D>, format: WireFormat): Uint8Array {
  const frame = encodeFrame(schema, message, format);
  return typeof frame === "string" ? utf8Encoder.encode(frame) : frame;
}

/** Decodes the plaintext of a secure record in the connection's form. */
export function decodePlaintext<D extends DescMessage>(schema: D, bytes: Uint8Array, format: WireFormat): MessageShape<D> {
  if (format === "protobuf") return decodeFrame(schema, bytes).message;
  let text: string;
  try {
    text = decodeJsonText(bytes, true);
  } catch {
    throw new CodecError("record plaintext is not UTF-8");
  }
  const { message, format: seen } = decodeFrame(schema, text);
  // A record's plaintext must use the connection's JSON form; mixing would let a client confuse the two.
  if (seen !== format) throw new CodecError(`record plaintext is ${seen} JSON but the connection uses ${format}`);
  return message;
}

function decodeJsonValue<D extends DescMessage>(schema: D, value: unknown): { message: MessageShape<D>; format: WireFormat } {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new CodecError("frame must be a JSON object");
  const obj = value as JsonObject;
  const flat = typeof obj.type === "string";
  try {
    const json = flat ? fromFlat(schema, obj) : obj;
    return { message: fromJson(schema, json, { ignoreUnknownFields: true }), format: flat ? "flat" : "json" };
  } catch (e) {
    const requestId = requestIdOf(obj);
    const format = flat ? "flat" : "json";
    if (e instanceof CodecError) throw new CodecError(e.message, e.unknownType, requestId, format);
    throw new CodecError(`invalid message: ${e instanceof Error ? e.message.slice(0, 200) : "unknown"}`, undefined, requestId, format);
  }
}

/** The frame's `request_id` (either JSON name) when it is a valid uint32, else 0: a refusal still repeats it. */
function requestIdOf(obj: JsonObject): number {
  const v = obj.request_id ?? obj.requestId;
  const n = typeof v === "string" && /^\d{1,10}$/.test(v) ? Number(v) : v;
  return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n : 0;
}

function oneofOf(schema: DescMessage) {
  const oneof = schema.oneofs[0];
  if (oneof === undefined) throw new CodecError(`${schema.typeName} has no oneof`);
  return oneof;
}

function fromFlat(schema: DescMessage, obj: JsonObject): JsonObject {
  const type = obj.type as string;
  const oneof = oneofOf(schema);
  const field = oneof.fields.find((f) => f.name === type);
  if (field === undefined) throw new CodecError(`unknown message type`, type);
  const envelope: JsonObject = {};
  const inner: JsonObject = {};
  for (const [key, v] of Object.entries(obj)) {
    if (key === "type") continue;
    const envField = schema.fields.find((f) => f.oneof === undefined && (f.name === key || f.jsonName === key));
    if (envField !== undefined) envelope[envField.jsonName] = v;
    else inner[key] = field.message !== undefined && isBytesField(field.message, key) ? bytesAsBase64(v) : v;
  }
  envelope[field.jsonName] = inner;
  return envelope;
}

function isBytesField(message: DescMessage, key: string): boolean {
  const f = message.fields.find((x) => x.name === key || x.jsonName === key);
  return f !== undefined && f.fieldKind === "scalar" && f.scalar === ScalarType.BYTES;
}

/**
 * A bytes field of the flat form as protobuf JSON wants it (base64). The seed's browser code puts a
 * `Uint8Array` in the message, which `JSON.stringify` writes as `{"0":12,"1":200,...}`; an array of byte
 * values is the other natural spelling. Both are taken when every value is a byte; anything else is left
 * for protobuf's own (clear) error.
 */
function bytesAsBase64(v: JsonValue): JsonValue {
  if (v === null || typeof v !== "object") return v;
  const values = Array.isArray(v) ? v : Object.keys(v).every((k, i) => k === String(i)) ? Object.values(v) : undefined;
  if (values === undefined || !values.every((b) => typeof b === "number" && Number.isInteger(b) && b >= 0 && b <= 255)) return v;
  return base64Encode(Uint8Array.from(values as number[]));
}

function toFlat<D extends DescMessage>(schema: D, message: MessageShape<D>): JsonObject {
  const oneof = oneofOf(schema);
  const selected = (message as unknown as Record<string, { case: string | undefined; value?: unknown }>)[oneof.localName];
  const field = oneof.fields.find((f) => f.localName === selected?.case);
  const out: JsonObject = {};
  if (field !== undefined && field.message !== undefined && selected?.value !== undefined) {
    out.type = field.name;
    const inner = toJson(field.message, selected.value as MessageShape<typeof field.message>, {
      useProtoFieldName: true,
      alwaysEmitImplicit: true,
    }) as JsonObject;
    Object.assign(out, inner);
  }
  const env = toJson(schema, message, { useProtoFieldName: true }) as Record<string, JsonValue>;
  for (const f of schema.fields) {
    if (f.oneof === undefined && env[f.name] !== undefined) out[f.name] = env[f.name] as JsonValue;
  }
  return out;
}
