/**
 * The messages of one enqueue batch as a single byte string: per message a big-endian u16 length and the
 * room, a u16 length and the identity, a u32 length and the response. The Redis store's batch script takes
 * it as one argument (it reads it with `struct.unpack('>Hc0Hc0I4c0', ...)`), which spares the node's client
 * building and writing three bulk strings per message and Redis parsing them; and when most of a batch is
 * for one other node, the script publishes it to that node unchanged (`BatchRouting` in internal.proto),
 * which spares Redis's Lua building a copy of every response.
 */
export class EnqueueBatchWriter {
  private buf: Uint8Array;
  private used = 0;
  /** Buffers of batches that were answered, for the next batches (see `recycle`). */
  private readonly spare: Uint8Array[] = [];

  constructor(private readonly initialBytes = 16 * 1024) {
    this.buf = new Uint8Array(initialBytes);
  }

  get byteLength(): number {
    return this.used;
  }

  /** Appends a message; answers where its response starts in the batch. */
  append(room: string, identity: string, response: Uint8Array): number {
    // A UTF-16 code unit is at most three UTF-8 bytes: room enough before writing, exact lengths after.
    this.reserve(8 + 3 * (room.length + identity.length) + response.byteLength);
    const buf = this.buf;
    let at = writeShortString(buf, this.used, room);
    at = writeShortString(buf, at, identity);
    const n = response.byteLength;
    buf[at] = n >>> 24;
    buf[at + 1] = (n >>> 16) & 0xff;
    buf[at + 2] = (n >>> 8) & 0xff;
    buf[at + 3] = n & 0xff;
    buf.set(response, at + 4);
    this.used = at + 4 + n;
    return at + 4;
  }

  /**
   * The batch, and the writer emptied onto another buffer. The batch's bytes stay as they are until they
   * are given back to `recycle`: a batch of a few hundred KiB in a fresh buffer each time cost more than
   * the copy into it (a new backing store, its pages touched for the first time).
   */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.used);
    this.buf = this.spare.pop() ?? new Uint8Array(Math.max(this.initialBytes, this.used));
    this.used = 0;
    return out;
  }

  /** Gives back a batch from `take` that nothing reads any more (Redis answered it), so its buffer is reused. */
  recycle(batch: Uint8Array): void {
    if (this.spare.length < MAX_SPARE_BUFFERS) this.spare.push(new Uint8Array(batch.buffer));
  }

  private reserve(bytes: number): void {
    if (this.used + bytes <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(2 * this.buf.length, this.used + bytes));
    grown.set(this.buf.subarray(0, this.used));
    this.buf = grown;
  }
}

/** Batches in flight at once are few (the pacer sends the next when one is answered, or when one is full). */
const MAX_SPARE_BUFFERS = 4;

const utf8 = new TextEncoder();

/** A u16 length and the UTF-8 of `s`; names are nearly always ASCII, written without a view per call. */
function writeShortString(buf: Uint8Array, at: number, s: string): number {
  let n = 0;
  for (; n < s.length; n++) {
    const c = s.charCodeAt(n);
    if (c >= 0x80) break;
    buf[at + 2 + n] = c;
  }
  if (n < s.length) n += utf8.encodeInto(s.slice(n), buf.subarray(at + 2 + n)).written;
  if (n > 0xffff) throw new RangeError(`a name of ${n} bytes does not fit an enqueue batch`);
  buf[at] = n >>> 8;
  buf[at + 1] = n & 0xff;
  return at + 2 + n;
}

/**
 * Where each response of a batch lies: `[start, end)` of message i at `2i`, `2i + 1`. Undefined unless
 * `batch` is exactly `count` well-formed messages, so a payload that is not the announced batch (a lost
 * message on a reconnect) is recognised instead of misread.
 */
export function responseSpans(batch: Uint8Array, count: number): Uint32Array | undefined {
  const spans = new Uint32Array(2 * count);
  const end = batch.length;
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 2 > end) return undefined;
    at += 2 + ((batch[at] as number) << 8 | (batch[at + 1] as number));
    if (at + 2 > end) return undefined;
    at += 2 + ((batch[at] as number) << 8 | (batch[at + 1] as number));
    if (at + 4 > end) return undefined;
    const n = ((batch[at] as number) * 0x1000000) + ((batch[at + 1] as number) << 16 | (batch[at + 2] as number) << 8 | (batch[at + 3] as number));
    at += 4;
    if (at + n > end) return undefined;
    spans[2 * i] = at;
    spans[2 * i + 1] = at + n;
    at += n;
  }
  return at === end ? spans : undefined;
}
