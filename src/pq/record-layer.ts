import { errors } from "../errors.js";
import { GCM_TAG_BYTES, KEY_BYTES } from "../protocol/pq/algorithms.js";
import { recordAadPrefix } from "../protocol/pq/key-schedule.js";
import { recordAead, type RecordAead } from "./record-aead.js";
import { SLOT_BYTES, secretSlab, type SecretSlab, type Slot } from "./secret-slab.js";

/** A `secure` record as on the wire. */
export interface SecureRecordFields {
  epoch: number;
  seq: bigint;
  ciphertext: Uint8Array;
}

/** The traffic keys of one epoch (32 bytes each). The record layer copies them and zeroizes the originals. */
export interface EpochKeys {
  readonly c2s: Uint8Array;
  readonly s2c: Uint8Array;
}

/** Records per direction and epoch; a rekey long precedes it in practice, but the nonce space must never wrap. */
export const MAX_RECORDS_PER_EPOCH = 2 ** 32;
const MAX_EPOCH = 0xffffffff;
const C2S = 0x01;
const S2C = 0x02;

/**
 * Nonce and AAD are rebuilt for every record in one process-wide scratch buffer: the AEAD calls are
 * synchronous, so nothing can interleave, and a session then holds no per-direction buffers at all (an idle
 * participant costs the server two `SecretSlab` slots, its keys and its AAD prefix).
 */
const nonce = new Uint8Array(12);
const nonceView = new DataView(nonce.buffer);
let aad = new Uint8Array(64);
let aadView = new DataView(aad.buffer);

/** The scratch AAD, at least `length` bytes long. */
function aadOf(length: number): Uint8Array {
  if (aad.length < length) {
    aad = new Uint8Array(length);
    aadView = new DataView(aad.buffer);
  }
  return aad;
}

/** Completes the AAD whose prefix (`prefixLength` bytes) is in place, and the nonce. */
function position(prefixLength: number, direction: number, epoch: number, seq: number): Uint8Array {
  aad[prefixLength - 1] = direction;
  aadView.setUint32(prefixLength, epoch, false);
  // seq < 2^32 (MAX_RECORDS_PER_EPOCH), so its high word is always 0.
  aadView.setUint32(prefixLength + 4, 0, false);
  aadView.setUint32(prefixLength + 8, seq, false);
  nonceView.setUint32(0, epoch, false);
  nonceView.setUint32(4, 0, false);
  nonceView.setUint32(8, seq, false);
  return aad.subarray(0, prefixLength + 12);
}

/** One epoch's keys (c2s ‖ s2c in one slot of the slab) and the next seq of each direction. */
class Epoch {
  /** The keys' slot; -1 once wiped. */
  private slot: Slot;
  sendSeq = 0;
  recvSeq = 0;

  constructor(
    readonly epoch: number,
    source: EpochKeys,
    private readonly slab: SecretSlab,
  ) {
    if (source.c2s.length !== KEY_BYTES || source.s2c.length !== KEY_BYTES) throw new RangeError("record keys must be 32 bytes");
    this.slot = slab.take();
    const keys = slab.view(this.slot, 0, 2 * KEY_BYTES);
    keys.set(source.c2s, 0);
    keys.set(source.s2c, KEY_BYTES);
    source.c2s.fill(0);
    source.s2c.fill(0);
  }

  /** The c2s key, as a view for one call (see `SecretSlab.view`). */
  get c2s(): Uint8Array {
    return this.slab.view(this.slot, 0, KEY_BYTES);
  }

  get s2c(): Uint8Array {
    return this.slab.view(this.slot, KEY_BYTES, KEY_BYTES);
  }

  /** Zeroizes the s2c key, after the AEAD backend forgot what it kept of it. */
  wipeSend(aead: RecordAead): void {
    if (this.slot < 0) return;
    const s2c = this.s2c;
    aead.forget(s2c);
    s2c.fill(0);
  }

  /** Forgets and zeroizes both keys and gives the slot back; only the first call does anything. */
  wipe(aead: RecordAead): void {
    const slot = this.slot;
    if (slot < 0) return;
    this.slot = -1;
    aead.forget(this.slab.view(slot, 0, KEY_BYTES));
    aead.forget(this.slab.view(slot, KEY_BYTES, KEY_BYTES));
    this.slab.give(slot);
  }
}

/**
 * The server's record layer for one session: synchronous AES-256-GCM, the hot path of every relayed message.
 * Sends with the s2c key and receives with the c2s key; nonce = uint32_be(epoch) ‖ uint64_be(seq), AAD =
 * "volly-record-v1" ‖ lp(session_id) ‖ direction ‖ uint32_be(epoch) ‖ uint64_be(seq) (DESIGN §5). The receiver
 * accepts exactly the next seq of its epoch. Any refusal throws `errors.pqRecordInvalid()` and is fatal: every
 * later record is refused (sealing still works, so the encrypted `error` and `leave` can go out).
 *
 * Rekey: `installNextEpoch` prepares epoch e+1; the server seals the rekey answer under epoch e, then calls
 * `switchSend()`. The receive side keeps epoch e until the first epoch e+1 record (seq 0) authenticates, then
 * drops the old key.
 */
export class ServerRecordLayer {
  private send: Epoch;
  private recv: Epoch;
  private next: Epoch | undefined;
  /**
   * "volly-record-v1" ‖ lp(session_id) ‖ direction byte (overwritten per call): in a slot of the slab, or
   * its own array for a session id of more than 47 bytes (never the server's own).
   */
  private readonly prefixSlot: Slot;
  private readonly prefixOwn: Uint8Array | undefined;
  private readonly prefixLength: number;
  private failed = false;
  private destroyed = false;

  /** Copies the epoch-`epoch` keys and zeroizes the originals. */
  constructor(
    sessionId: string,
    keys: EpochKeys,
    epoch = 0,
    private readonly aead: RecordAead = recordAead,
    private readonly slab: SecretSlab = secretSlab,
  ) {
    const prefix = recordAadPrefix(sessionId, "c2s");
    this.prefixLength = prefix.length;
    if (prefix.length <= SLOT_BYTES) {
      this.prefixSlot = slab.take();
      slab.view(this.prefixSlot, 0, prefix.length).set(prefix);
      this.prefixOwn = undefined;
    } else {
      this.prefixSlot = -1;
      this.prefixOwn = prefix;
    }
    this.send = this.recv = new Epoch(epoch, keys, slab);
  }

  /** The epoch the server sends in. */
  get sendEpoch(): number {
    return this.send.epoch;
  }

  /** The seq the next sealed record gets. */
  get sendSeq(): number {
    return this.send.sendSeq;
  }

  /** The epoch the server currently receives in (lags `sendEpoch` until the client's first new-epoch record). */
  get receiveEpoch(): number {
    return this.recv.epoch;
  }

  /** True between `installNextEpoch` and the receive side's switch to that epoch. */
  get rekeyPending(): boolean {
    return this.next !== undefined;
  }

  /** Encrypts one server → client record into a new buffer (see `sealInPlace`). */
  seal(plaintext: Uint8Array): SecureRecordFields {
    const epoch = this.send.epoch;
    const seq = this.send.sendSeq;
    const ciphertext = new Uint8Array(plaintext.length + GCM_TAG_BYTES);
    ciphertext.set(plaintext, 0);
    this.sealInPlace(ciphertext);
    return { epoch, seq: BigInt(seq), ciphertext };
  }

  /**
   * Encrypts `view` = plaintext ‖ 16 spare bytes in place as record (`sendEpoch`, `sendSeq`), then advances the
   * seq. Still works after a refused record, so the server can send the encrypted `error` and `leave` before
   * closing.
   */
  sealInPlace(view: Uint8Array): void {
    if (this.destroyed) throw errors.pqRecordInvalid();
    const s = this.send;
    if (s.sendSeq >= MAX_RECORDS_PER_EPOCH) throw errors.pqRekeyOverdue();
    const ad = this.ad(S2C, s.epoch, s.sendSeq);
    this.aead.seal(s.s2c, nonce, ad, view);
    s.sendSeq++;
  }

  /** Decrypts one client → server record from a copy of its ciphertext (the record's bytes stay intact). */
  open(record: SecureRecordFields): Uint8Array {
    if (record.seq > BigInt(MAX_RECORDS_PER_EPOCH)) return this.refuse();
    return this.openInPlace(record.epoch, Number(record.seq), record.ciphertext.slice());
  }

  /**
   * Decrypts `view` = ciphertext ‖ tag where it lies and returns the plaintext (a prefix of `view`). Refuses
   * anything but the next seq of the receive epoch (or seq 0 of e+1); a refusal is fatal for the layer.
   */
  openInPlace(epoch: number, seq: number, view: Uint8Array): Uint8Array {
    if (this.destroyed || this.failed) throw errors.pqRecordInvalid();
    let state = this.recv;
    if (epoch !== state.epoch) {
      const next = this.next;
      // e+1 is accepted only once the send side switched (the rekey answer went out).
      if (next === undefined || epoch !== next.epoch || this.send !== next) return this.refuse();
      state = next;
    }
    if (seq !== state.recvSeq || seq >= MAX_RECORDS_PER_EPOCH || view.length < GCM_TAG_BYTES) return this.refuse();
    const ad = this.ad(C2S, epoch, seq);
    if (!this.aead.open(state.c2s, nonce, ad, view)) return this.refuse();
    state.recvSeq = seq + 1;
    if (state !== this.recv) {
      this.recv.wipe(this.aead);
      this.recv = state;
      this.next = undefined;
    }
    return view.subarray(0, view.length - GCM_TAG_BYTES);
  }

  /**
   * Prepares epoch `receiveEpoch + 1` with fresh keys (copied, originals zeroized). Refused while a rekey is
   * still pending or when the epoch counter would overflow.
   */
  installNextEpoch(keys: EpochKeys): void {
    this.usable();
    if (this.next !== undefined || this.send !== this.recv) throw errors.pqRekeyInvalid("a rekey is already in progress");
    if (this.send.epoch >= MAX_EPOCH) throw errors.pqRekeyInvalid("epoch counter exhausted");
    this.next = new Epoch(this.send.epoch + 1, keys, this.slab);
  }

  /** Switches the send side to the installed epoch (after sealing the rekey answer). */
  switchSend(): void {
    this.usable();
    const next = this.next;
    if (next === undefined || this.send === next) throw errors.pqRekeyInvalid("no rekey in progress");
    // The old c2s key still opens records until the client's first new-epoch one; its s2c key is done.
    this.send.wipeSend(this.aead);
    this.send = next;
  }

  /** Zeroizes every key and gives the slots back; the layer refuses all calls afterwards. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.send.wipe(this.aead);
    this.recv.wipe(this.aead);
    this.next?.wipe(this.aead);
    this.next = undefined;
    if (this.prefixOwn === undefined) this.slab.give(this.prefixSlot);
  }

  /** The record's AAD (and nonce) in the scratch buffers. */
  private ad(direction: number, epoch: number, seq: number): Uint8Array {
    const scratch = aadOf(this.prefixLength + 12);
    if (this.prefixOwn === undefined) this.slab.copyOut(this.prefixSlot, this.prefixLength, scratch);
    else scratch.set(this.prefixOwn, 0);
    return position(this.prefixLength, direction, epoch, seq);
  }

  private refuse(): never {
    this.failed = true;
    throw errors.pqRecordInvalid();
  }

  private usable(): void {
    if (this.destroyed || this.failed) throw errors.pqRekeyInvalid("the record layer is closed");
  }
}
