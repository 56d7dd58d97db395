/**
 * Sets `message_id` (field 101, varint) on an encoded SignalResponse by appending the field: protobuf
 * merges concatenated encodings, so relayed messages are encoded once and stamped per recipient without a
 * decode. `response` must not already carry a message_id.
 */
export function appendMessageId(response: Uint8Array, messageId: bigint): Uint8Array {
  if (messageId === 0n) return response;
  // Tag of field 101, wire type 0: (101 << 3) | 0 = 808 = varint 0xa8 0x06.
  const idBytes = varint(messageId);
  const out = new Uint8Array(response.length + 2 + idBytes.length);
  out.set(response, 0);
  out[response.length] = 0xa8;
  out[response.length + 1] = 0x06;
  out.set(idBytes, response.length + 2);
  return out;
}

function varint(value: bigint): Uint8Array {
  const bytes: number[] = [];
  let v = value;
  while (v > 0x7fn) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  return Uint8Array.from(bytes);
}
