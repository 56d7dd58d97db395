/** The size of every slot; a 32-byte key pair, a session's chain ‖ exporter, or a record AAD prefix fits. */
export const SLOT_BYTES = 64;

/** A slot of a `SecretSlab`, by number: a session keeps no object per secret it holds. */
export type Slot = number;

/**
 * Fixed 64-byte slots in shared ArrayBuffers, for the few small secrets a PQ session keeps for its whole life
 * (its traffic keys, chain ‖ exporter, the record AAD prefix). A `new Uint8Array(64)` kept for hours costs far
 * more than its 64 bytes: its own ArrayBuffer object, and once native code has read it (the record AEAD does,
 * for every key) an off-heap backing store with its bookkeeping, about 600 bytes of RSS in all. Even a kept
 * view of a shared buffer is a typed-array object of about 100 bytes, so an owner keeps the slot's number and
 * makes a view (`view`) only for the call that reads or writes it. Idle participants are what a signaling
 * server holds most of.
 *
 * Slots are handed back explicitly (`give`), zeroed, and reused. Every access checks that the slot is still
 * handed out, so an owner that gave its slot back gets an error, never the bytes of the next owner; the record
 * layer and the PQ session give theirs back only where they already zeroize their keys, after which they
 * refuse every call. A slot whose owner is collected without giving it back is never reused, so a forgotten
 * `give` leaks 64 bytes and never shares a key. Chunks are not released: the slab keeps the peak number of
 * slots it held.
 */
export class SecretSlab {
  private readonly chunks: Uint8Array[] = [];
  /** One byte per slot of each chunk: 1 while handed out. */
  private readonly used: Uint8Array[] = [];
  /** Slots given back. */
  private readonly free: Slot[] = [];
  /** Slots of the last chunk never handed out yet. */
  private fresh = 0;
  private held = 0;

  constructor(private readonly slotsPerChunk = 256) {
    if (!Number.isInteger(slotsPerChunk) || slotsPerChunk < 1) throw new RangeError("slotsPerChunk must be a positive integer");
  }

  /** Slots handed out and not given back. */
  get inUse(): number {
    return this.held;
  }

  /** Bytes the slab holds, handed out or not. */
  get reservedBytes(): number {
    return this.chunks.length * this.slotsPerChunk * SLOT_BYTES;
  }

  /** A free slot, zeroed. */
  take(): Slot {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.fresh === 0) this.grow();
      slot = this.chunks.length * this.slotsPerChunk - this.fresh;
      this.fresh--;
    }
    const chunk = Math.floor(slot / this.slotsPerChunk);
    (this.used[chunk] as Uint8Array)[slot - chunk * this.slotsPerChunk] = 1;
    this.held++;
    return slot;
  }

  /**
   * A view of `length` bytes at `offset` of `slot`, for the call at hand: kept, it would cost the typed-array
   * object the slot saves. Throws for a slot that is not handed out.
   */
  view(slot: Slot, offset = 0, length = SLOT_BYTES - offset): Uint8Array {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > SLOT_BYTES) {
      throw new RangeError(`a slot holds ${SLOT_BYTES} bytes: ${offset} + ${length} is outside it`);
    }
    const chunk = this.chunkOf(slot);
    return new Uint8Array(chunk.buffer, (slot % this.slotsPerChunk) * SLOT_BYTES + offset, length);
  }

  /** Copies the first `length` bytes of `slot` to `target` at 0, without making a view. */
  copyOut(slot: Slot, length: number, target: Uint8Array): void {
    if (!Number.isInteger(length) || length < 0 || length > SLOT_BYTES || length > target.length) throw new RangeError(`cannot copy ${length} bytes of a slot`);
    const bytes = this.chunkOf(slot);
    const base = (slot % this.slotsPerChunk) * SLOT_BYTES;
    for (let i = 0; i < length; i++) target[i] = bytes[base + i] as number;
  }

  /** Zeroes `slot` and makes it free. Throws for a slot this slab did not hand out, or that was given back. */
  give(slot: Slot): void {
    const bytes = this.chunkOf(slot);
    const base = (slot % this.slotsPerChunk) * SLOT_BYTES;
    bytes.fill(0, base, base + SLOT_BYTES);
    (this.used[Math.floor(slot / this.slotsPerChunk)] as Uint8Array)[slot % this.slotsPerChunk] = 0;
    this.held--;
    this.free.push(slot);
  }

  /** The chunk of a slot that is handed out; throws otherwise. */
  private chunkOf(slot: Slot): Uint8Array {
    const chunk = Number.isInteger(slot) && slot >= 0 ? Math.floor(slot / this.slotsPerChunk) : -1;
    const used = this.used[chunk];
    if (used === undefined || used[slot % this.slotsPerChunk] !== 1) throw new Error("secret slab: this slot is not handed out");
    return this.chunks[chunk] as Uint8Array;
  }

  private grow(): void {
    this.chunks.push(new Uint8Array(this.slotsPerChunk * SLOT_BYTES));
    this.used.push(new Uint8Array(this.slotsPerChunk));
    this.fresh = this.slotsPerChunk;
  }
}

/** The slab of this process's server sessions. */
export const secretSlab = new SecretSlab();
