import { varintSize, writeVarint, zeroed, type FrameAllocator } from "./wire-bytes.js";

// Tag of field 101 (message_id), wire type varint: (101 << 3) | 0 = 808, encoded 0xa8 0x06.
const MESSAGE_ID_TAG = [0xa8, 0x06] as const;

/**
 * Sets `message_id` (field 101, varint) on an encoded SignalResponse by appending the field: protobuf
 * merges concatenated encodings, so relayed messages are encoded once and stamped per recipient without a
 * decode. `response` must not already carry a message_id. Ids stay far below 2^53.
 */
export function appendMessageId(response: Uint8Array, messageId: bigint, alloc: FrameAllocator = zeroed): Uint8Array {
  if (messageId === 0n) return response;
  // Every byte of `out` is written below, so `alloc` need not zero it.
  const out = alloc(response.length + messageIdFieldSize(messageId));
  out.set(response, 0);
  writeMessageIdField(out, response.length, messageId);
  return out;
}

/** Bytes the message_id field takes (0 for id 0, which is not written). */
export function messageIdFieldSize(messageId: bigint): number {
  return messageId === 0n ? 0 : MESSAGE_ID_TAG.length + varintSize(Number(messageId));
}

/** Writes the message_id field at `pos` (nothing for id 0); returns the position after it. */
export function writeMessageIdField(out: Uint8Array, pos: number, messageId: bigint): number {
  if (messageId === 0n) return pos;
  out[pos] = MESSAGE_ID_TAG[0];
  out[pos + 1] = MESSAGE_ID_TAG[1];
  return writeVarint(out, pos + MESSAGE_ID_TAG.length, Number(messageId));
}
