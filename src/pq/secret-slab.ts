/** The size of every slot; a 32-byte key pair, a session's chain ‖ exporter, or a record AAD prefix fits. */
export const SLOT_BYTES = 64;

/**
 * Fixed 64-byte slots in shared ArrayBuffers, for the few small byte arrays a PQ session keeps for its whole
 * life (its traffic keys, chain ‖ exporter, the record AAD prefix). A `new Uint8Array(64)` kept for hours
 * costs far more than its 64 bytes: its own ArrayBuffer object, and once native code has read it (the record
 * AEAD does, for every key) an off-heap backing store with its bookkeeping, about 600 bytes of RSS in all
 * against about 160 for a view of a slot here. Idle participants are what a signaling server holds most of.
 *
 * Slots are handed back explicitly (`give`), zeroed, and reused. The owner must stop using a view once it
 * gave it back (the next `take` may hand the same bytes to another session): the record layer and the PQ
 * session give theirs back only where they already zeroize their keys, after which they refuse every call.
 * A slot whose owner is collected without giving it back is never reused, so a forgotten `give` leaks 64
 * bytes and never shares a key. Chunks are not released: the slab keeps the peak number of slots it held.
 */
export class SecretSlab {
  private readonly chunks: ArrayBuffer[] = [];
  /** One byte per slot of each chunk: 1 while handed out. */
  private readonly used: Uint8Array[] = [];
  private readonly chunkOf = new Map<ArrayBuffer, number>();
  /** Slots given back, as chunk * slotsPerChunk + slot. */
  private readonly free: number[] = [];
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

  /** A zeroed view of the first `length` bytes (1..64) of a free slot. */
  take(length: number = SLOT_BYTES): Uint8Array {
    if (!Number.isInteger(length) || length < 1 || length > SLOT_BYTES) throw new RangeError(`a slot holds 1..${SLOT_BYTES} bytes, not ${length}`);
    let id = this.free.pop();
    if (id === undefined) {
      if (this.fresh === 0) this.grow();
      id = this.chunks.length * this.slotsPerChunk - this.fresh;
      this.fresh--;
    }
    const chunk = Math.floor(id / this.slotsPerChunk);
    const slot = id - chunk * this.slotsPerChunk;
    (this.used[chunk] as Uint8Array)[slot] = 1;
    this.held++;
    return new Uint8Array(this.chunks[chunk] as ArrayBuffer, slot * SLOT_BYTES, length);
  }

  /** Zeroes the slot under `view` and makes it free. Throws for a view this slab did not hand out, or gave back. */
  give(view: Uint8Array): void {
    const chunk = this.chunkOf.get(view.buffer as ArrayBuffer);
    const slot = view.byteOffset / SLOT_BYTES;
    const used = chunk === undefined ? undefined : this.used[chunk];
    if (chunk === undefined || used === undefined || !Number.isInteger(slot) || used[slot] !== 1) {
      throw new Error("secret slab: this view is not a slot handed out by this slab");
    }
    new Uint8Array(view.buffer, slot * SLOT_BYTES, SLOT_BYTES).fill(0);
    used[slot] = 0;
    this.held--;
    this.free.push(chunk * this.slotsPerChunk + slot);
  }

  private grow(): void {
    const buffer = new ArrayBuffer(this.slotsPerChunk * SLOT_BYTES);
    this.chunkOf.set(buffer, this.chunks.length);
    this.chunks.push(buffer);
    this.used.push(new Uint8Array(this.slotsPerChunk));
    this.fresh = this.slotsPerChunk;
  }
}

/** The slab of this process's server sessions. */
export const secretSlab = new SecretSlab();
