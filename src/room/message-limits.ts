/**
 * Size limits of relayed messages' small fields, in UTF-8 bytes (docs/api.md, Limits). One definition for a
 * participant's messages (room/relay.ts) and the backend's (RoomService SendData), so neither can create
 * what the other would refuse; the error says "bytes", so they are counted in bytes everywhere.
 */
export const MESSAGE_LIMITS = {
  /** A `data` message's topic. */
  topic: 128,
  /** A `data` message's id, and a call id. */
  id: 64,
  /** A call action's reason. */
  callReason: 256,
} as const;

/** Whether `value` takes at most `maxBytes` in UTF-8. */
export function withinBytes(value: string, maxBytes: number): boolean {
  // Fewer UTF-16 units than max/3 cannot exceed it (3 bytes per unit at most): skips the count for most values.
  return value.length * 3 <= maxBytes || Buffer.byteLength(value) <= maxBytes;
}
