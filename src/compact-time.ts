/**
 * Epoch milliseconds kept as an offset from this process's start. For 24 days an offset is a small integer,
 * which V8 stores in an object's field itself, where an epoch time is a 16-byte heap number per field;
 * what a node keeps per connection (its deadlines, its PQ session's times, its presence) adds up over
 * thousands of idle participants. Past 24 days offsets are heap numbers again, and just as right.
 */
const ORIGIN = Date.now();

/** `epochMs` as an offset (see above). */
export function toOffset(epochMs: number): number {
  return epochMs - ORIGIN;
}

/** The epoch milliseconds of an offset. */
export function fromOffset(offset: number): number {
  return offset + ORIGIN;
}
