import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { SignalRequestSchema } from "../../gen/volly/signaling/v1/signal_pb.js";
import { GCM_TAG_BYTES } from "../protocol/pq/algorithms.js";
import { encodeFrame, type WireFormat } from "../protocol/signal-codec.js";

/**
 * The size of a frame as the server measures it against VOLLY_MAX_FRAME_BYTES: a binary frame's bytes, a text
 * frame's UTF-8 bytes. A request over the limit is refused before it is sent (and, on a post-quantum channel,
 * before it is sealed): the server would close the connection for it, and a sealed record that is never sent
 * would leave a gap in the record sequence.
 */
export function frameBytes(frame: Uint8Array | string): number {
  return typeof frame === "string" ? utf8Length(frame) : frame.length;
}

/** Whether a text frame of `length` UTF-16 units certainly fits (each unit is at most 3 UTF-8 bytes). */
export function textCertainlyFits(length: number, maxFrameBytes: number): boolean {
  return length * 3 <= maxFrameBytes;
}

/**
 * The frame of a `secure` record sealing `plaintextLength` bytes with this epoch, seq and request id: exact,
 * since AES-GCM adds only its tag. Encoded only near the limit; far below it a bound answers.
 */
export function sealedFrameBytes(
  plaintextLength: number,
  record: { readonly epoch: number; readonly seq: bigint; readonly requestId: number },
  format: WireFormat,
  maxFrameBytes: number,
): number {
  const sealed = plaintextLength + GCM_TAG_BYTES;
  // Envelope fields cost at most ~40 bytes in protobuf, ~200 characters in JSON; bytes are base64 in JSON.
  const bound = format === "protobuf" ? sealed + 64 : 4 * Math.ceil(sealed / 3) + 256;
  if (bound <= maxFrameBytes) return bound;
  const standIn = create(SignalRequestSchema, {
    requestId: record.requestId,
    message: { case: "secure", value: { epoch: record.epoch, seq: record.seq, ciphertext: new Uint8Array(sealed) } },
  });
  return frameBytes(encodeFrame(SignalRequestSchema, standIn, format));
}

/** The error for a request whose frame would exceed the server's limit (the connection is not touched). */
export function frameTooLarge(size: number, maxFrameBytes: number): ConnectError {
  return new ConnectError(`request of ${size} bytes exceeds the server's frame limit of ${maxFrameBytes} bytes`, Code.InvalidArgument);
}

/** UTF-8 length of a string, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
