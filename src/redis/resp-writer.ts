/**
 * Writes Redis commands in RESP into one buffer that is reused from batch to batch (`RawCommand` sends
 * a piece of it). A batch's commands built by ioredis were each copied into a fresh buffer, and on the
 * machines measured a fresh backing store of a few dozen KiB cost more than the copy into it.
 */
export class RespWriter {
  private buf: Buffer;
  private used = 0;
  private readonly spare: Buffer[] = [];

  constructor(private readonly initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.used;
  }

  /** Starts a command of `argc` arguments (its name counts as one). */
  command(argc: number): this {
    return this.header(42, argc);
  }

  /** A bulk string. */
  bulk(value: string | Uint8Array): this {
    if (typeof value === "string") {
      const n = Buffer.byteLength(value);
      this.header(36, n);
      this.reserve(n + 2);
      this.used += this.buf.write(value, this.used);
    } else {
      this.header(36, value.byteLength);
      this.reserve(value.byteLength + 2);
      this.buf.set(value, this.used);
      this.used += value.byteLength;
    }
    this.buf[this.used] = 13;
    this.buf[this.used + 1] = 10;
    this.used += 2;
    return this;
  }

  /**
   * The bytes written since `from` (an earlier `length`). They stay as they are until the writer is
   * `take`n and given back (`recycle`): the socket may still be writing them.
   */
  since(from: number): Buffer {
    return this.buf.subarray(from, this.used);
  }

  /** Ends a batch: what was written stays for the socket, and the writer goes on in another buffer. */
  take(): Buffer {
    const out = this.buf;
    this.buf = this.spare.pop() ?? Buffer.allocUnsafe(Math.max(this.initialBytes, this.used));
    this.used = 0;
    return out;
  }

  /** Gives back a taken buffer once Redis has answered what was written in it. */
  recycle(buf: Buffer): void {
    if (this.spare.length < MAX_SPARE_BUFFERS) this.spare.push(buf);
  }

  /**
   * `*<n>\r\n` or `$<n>\r\n`, its digits written one by one: a template string written with
   * `Buffer.write` cost about 100 ns a header (a string, a call into C++), this about 10, and a pushed batch
   * writes one per relayed message.
   */
  private header(marker: number, n: number): this {
    this.reserve(MAX_HEADER_BYTES);
    const buf = this.buf;
    let at = this.used;
    buf[at++] = marker;
    let digits = 1;
    for (let v = n; v >= 10; v = Math.floor(v / 10)) digits++;
    for (let i = at + digits - 1, v = n; i >= at; i--, v = Math.floor(v / 10)) buf[i] = 48 + (v % 10);
    at += digits;
    buf[at] = 13;
    buf[at + 1] = 10;
    this.used = at + 2;
    return this;
  }

  private reserve(bytes: number): void {
    if (this.used + bytes <= this.buf.length) return;
    // Pieces already handed out keep the old buffer alive; the new one takes over from here.
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.used + bytes));
    this.buf.copy(grown, 0, 0, this.used);
    this.buf = grown;
  }
}

const MAX_SPARE_BUFFERS = 2;
/** A marker, up to 16 digits (lengths and counts are below 2^53) and CRLF. */
const MAX_HEADER_BYTES = 19;
