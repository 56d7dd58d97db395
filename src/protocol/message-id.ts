import { varintSize, writeVarint } from "./wire-bytes.js";

// Tag of field 101 (message_id), wire type varint: (101 << 3) | 0 = 808, encoded 0xa8 0x06.
const MESSAGE_ID_TAG = [0xa8, 0x06] as const;

/**
 * Sets `message_id` (field 101, varint) on an encoded SignalResponse by appending the field: protobuf
 * merges concatenated encodings, so relayed messages are encoded once and stamped per recipient without a
 * decode. `response` must not already carry a message_id. Ids stay far below 2^53.
 */
export function appendMessageId(response: Uint8Array, messageId: bigint): Uint8Array {
  if (messageId === 0n) return response;
  const id = Number(messageId);
  const out = new Uint8Array(response.length + MESSAGE_ID_TAG.length + varintSize(id));
  out.set(response, 0);
  out.set(MESSAGE_ID_TAG, response.length);
  writeVarint(out, response.length + MESSAGE_ID_TAG.length, id);
  return out;
}
