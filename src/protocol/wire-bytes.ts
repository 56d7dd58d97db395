/**
 * Minimal protobuf wire-format reading and writing for the relay fast path (see relay-frames.ts): just
 * varints, tags and length-delimited fields, over Uint8Array, without allocation where avoidable.
 * Browser-safe.
 */

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/** Gives a frame its bytes. The default zeroes them; a caller that fills every byte may pass a pooled one. */
export type FrameAllocator = (size: number) => Uint8Array;

export const zeroed: FrameAllocator = (size) => new Uint8Array(size);

/** A cursor over an encoded message. Every read checks bounds and returns -1 (or false) on malformed input. */
export class WireReader {
  pos = 0;

  constructor(readonly buf: Uint8Array, readonly end = buf.length) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Reads a varint up to 2^53 (enough for tags, lengths, epochs and sequence numbers); -1 if malformed. */
  varint(): number {
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) return -1;
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * shift;
      if (b < 0x80) return result;
      shift *= 128;
    }
    return -1;
  }

  /** Skips the value of a field of wire type `wire`; false if malformed. */
  skip(wire: number): boolean {
    switch (wire) {
      case WIRE_VARINT:
        return this.varint() >= 0;
      case WIRE_I64:
        this.pos += 8;
        return this.pos <= this.end;
      case WIRE_LEN: {
        const n = this.varint();
        if (n < 0) return false;
        this.pos += n;
        return this.pos <= this.end;
      }
      case WIRE_I32:
        this.pos += 4;
        return this.pos <= this.end;
      default:
        return false;
    }
  }
}

/** Bytes needed for `value` as a varint. */
export function varintSize(value: number): number {
  let n = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

/** Writes `value` as a varint at `pos`; returns the position after it. */
export function writeVarint(out: Uint8Array, pos: number, value: number): number {
  while (value >= 128) {
    out[pos++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  out[pos++] = value;
  return pos;
}

/** Size of a length-delimited field: tag + length + data. */
export function lenFieldSize(field: number, dataLength: number): number {
  return varintSize(field * 8 + WIRE_LEN) + varintSize(dataLength) + dataLength;
}

/** Writes a length-delimited field; returns the position after it. */
export function writeLenField(out: Uint8Array, pos: number, field: number, data: Uint8Array): number {
  pos = writeVarint(out, pos, field * 8 + WIRE_LEN);
  pos = writeVarint(out, pos, data.length);
  out.set(data, pos);
  return pos + data.length;
}
