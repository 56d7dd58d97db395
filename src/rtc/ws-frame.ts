import type { FrameAllocator } from "../protocol/wire-bytes.js";

/**
 * Binary WebSocket frames laid out whole by the server (RFC 6455 §5.2: FIN, opcode 2, unmasked, the
 * payload's length), so that a relayed message is one buffer and one stream write. ws's own `send` builds
 * a header buffer apart and writes the two separately, with three small objects on the way, for every
 * relayed message.
 *
 * `allocateWsFrame` hands out the payload's part of a frame whose header is already written in front of it;
 * `laidOutFrame` gives the whole frame back for that same payload. One frame at a time is enough: a frame
 * is built and sent in one synchronous step, and anything else passed in is not a laid-out frame.
 */
let payload: Uint8Array | undefined;
let whole: Buffer | undefined;

export const allocateWsFrame: FrameAllocator = (size) => {
  const header = size < 126 ? 2 : size < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + size);
  frame[0] = 0x82;
  if (header === 2) frame[1] = size;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(size, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(size / 2 ** 32), 2);
    frame.writeUInt32BE(size >>> 0, 6);
  }
  whole = frame;
  payload = frame.subarray(header);
  return payload;
};

/** The whole frame (header and payload) if `bytes` is the payload `allocateWsFrame` handed out last. */
export function laidOutFrame(bytes: Uint8Array): Buffer | undefined {
  if (bytes !== payload) return undefined;
  const frame = whole;
  payload = whole = undefined;
  return frame;
}
