import { createCipheriv, createDecipheriv } from "node:crypto";
import { errors } from "../errors.js";
import { GCM_TAG_BYTES, KEY_BYTES } from "../protocol/pq/algorithms.js";
import { recordAadPrefix } from "../protocol/pq/key-schedule.js";

/** A `secure` record as on the wire. */
export interface SecureRecordFields {
  epoch: number;
  seq: bigint;
  ciphertext: Uint8Array;
}

/** The traffic keys of one epoch (32 bytes each). The record layer takes ownership and zeroizes them. */
export interface EpochKeys {
  readonly c2s: Uint8Array;
  readonly s2c: Uint8Array;
}

/** Records per direction and epoch; a rekey long precedes it in practice, but the nonce space must never wrap. */
export const MAX_RECORDS_PER_EPOCH = 2n ** 32n;
const MAX_EPOCH = 0xffffffff;

/** One direction of one epoch: its key, the next seq, and reusable nonce/AAD buffers. */
class DirectionState {
  readonly nonce = Buffer.alloc(12);
  readonly aad: Buffer;
  private readonly view: DataView;
  private readonly aadView: DataView;
  private readonly tailOffset: number;
  nextSeq = 0n;

  constructor(
    readonly epoch: number,
    readonly key: Uint8Array,
    prefix: Uint8Array,
  ) {
    if (key.length !== KEY_BYTES) throw new RangeError("record key must be 32 bytes");
    this.aad = Buffer.alloc(prefix.length + 12);
    this.aad.set(prefix, 0);
    this.tailOffset = prefix.length;
    this.view = new DataView(this.nonce.buffer, this.nonce.byteOffset, 12);
    this.aadView = new DataView(this.aad.buffer, this.aad.byteOffset, this.aad.byteLength);
    this.view.setUint32(0, epoch, false);
    this.aadView.setUint32(this.tailOffset, epoch, false);
  }

  /** Writes seq into the nonce and the AAD tail (epoch is fixed per state). */
  position(seq: bigint): void {
    this.view.setBigUint64(4, seq, false);
    this.aadView.setBigUint64(this.tailOffset + 4, seq, false);
  }

  wipe(): void {
    this.key.fill(0);
  }
}

/**
 * The server's record layer for one session: synchronous AES-256-GCM (`node:crypto`), the hot path of every relayed
 * message. Sends with the s2c key and receives with the c2s key; nonce = uint32_be(epoch) ‖ uint64_be(seq), AAD =
 * "volly-record-v1" ‖ lp(session_id) ‖ direction ‖ uint32_be(epoch) ‖ uint64_be(seq) (DESIGN §5). The receiver
 * accepts exactly the next seq of its epoch. Any refusal throws `errors.pqRecordInvalid()` and is fatal: every
 * later record is refused (sealing still works, so the encrypted `error` and `leave` can go out).
 *
 * Rekey: `installNextEpoch` prepares epoch e+1; the server seals the rekey answer under epoch e, then calls
 * `switchSend()`. The receive side keeps epoch e until the first epoch e+1 record (seq 0) authenticates, then
 * drops the old key.
 */
export class ServerRecordLayer {
  private send: DirectionState;
  private recv: DirectionState;
  private nextSend: DirectionState | undefined;
  private nextRecv: DirectionState | undefined;
  private readonly sendPrefix: Uint8Array;
  private readonly recvPrefix: Uint8Array;
  private failed = false;
  private destroyed = false;

  /** Takes ownership of the epoch-`epoch` keys (zeroized when replaced or destroyed). */
  constructor(sessionId: string, keys: EpochKeys, epoch = 0) {
    this.sendPrefix = recordAadPrefix(sessionId, "s2c");
    this.recvPrefix = recordAadPrefix(sessionId, "c2s");
    this.send = new DirectionState(epoch, keys.s2c, this.sendPrefix);
    this.recv = new DirectionState(epoch, keys.c2s, this.recvPrefix);
  }

  /** The epoch the server sends in. */
  get sendEpoch(): number {
    return this.send.epoch;
  }

  /** The epoch the server currently receives in (lags `sendEpoch` until the client's first new-epoch record). */
  get receiveEpoch(): number {
    return this.recv.epoch;
  }

  /** True between `installNextEpoch` and the receive side's switch to that epoch. */
  get rekeyPending(): boolean {
    return this.nextSend !== undefined || this.nextRecv !== undefined;
  }

  /**
   * Encrypts one server → client record under the current send epoch and the next seq. Still works after a refused
   * record, so the server can send the encrypted `error` and `leave` before closing.
   */
  seal(plaintext: Uint8Array): SecureRecordFields {
    if (this.destroyed) throw errors.pqRecordInvalid();
    const s = this.send;
    const seq = s.nextSeq;
    if (seq >= MAX_RECORDS_PER_EPOCH) throw errors.pqRekeyOverdue();
    s.position(seq);
    const cipher = createCipheriv("aes-256-gcm", s.key, s.nonce, { authTagLength: GCM_TAG_BYTES });
    cipher.setAAD(s.aad);
    const body = cipher.update(plaintext);
    cipher.final(); // GCM is a stream mode: final() emits nothing but computes the tag
    const out = new Uint8Array(body.length + GCM_TAG_BYTES);
    out.set(body, 0);
    out.set(cipher.getAuthTag(), body.length);
    s.nextSeq = seq + 1n;
    return { epoch: s.epoch, seq, ciphertext: out };
  }

  /** Decrypts one client → server record; refuses anything but the next seq of the receive epoch (or seq 0 of e+1). */
  open(record: SecureRecordFields): Uint8Array {
    if (this.destroyed || this.failed) throw errors.pqRecordInvalid();
    try {
      let state = this.recv;
      let switching = false;
      if (record.epoch !== state.epoch) {
        const next = this.nextRecv;
        if (next === undefined || record.epoch !== next.epoch || this.nextSend !== undefined) throw refused();
        state = next;
        switching = true;
      }
      if (record.seq !== state.nextSeq || state.nextSeq >= MAX_RECORDS_PER_EPOCH) throw refused();
      const ct = record.ciphertext;
      if (ct.length < GCM_TAG_BYTES) throw refused();
      state.position(record.seq);
      const split = ct.length - GCM_TAG_BYTES;
      const decipher = createDecipheriv("aes-256-gcm", state.key, state.nonce, { authTagLength: GCM_TAG_BYTES });
      decipher.setAAD(state.aad);
      decipher.setAuthTag(ct.subarray(split));
      const body = decipher.update(ct.subarray(0, split));
      try {
        decipher.final();
      } catch {
        body.fill(0);
        throw refused();
      }
      state.nextSeq = record.seq + 1n;
      if (switching) {
        this.recv.wipe();
        this.recv = state;
        this.nextRecv = undefined;
      }
      return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    } catch (e) {
      this.failed = true;
      throw e;
    }
  }

  /**
   * Prepares epoch `receiveEpoch + 1` with fresh keys (ownership taken). Refused while a rekey is still pending
   * on either side or when the epoch counter would overflow.
   */
  installNextEpoch(keys: EpochKeys): void {
    this.usable();
    if (this.rekeyPending || this.send.epoch !== this.recv.epoch) {
      throw errors.pqRekeyInvalid("a rekey is already in progress");
    }
    if (this.send.epoch >= MAX_EPOCH) throw errors.pqRekeyInvalid("epoch counter exhausted");
    const epoch = this.send.epoch + 1;
    this.nextSend = new DirectionState(epoch, keys.s2c, this.sendPrefix);
    this.nextRecv = new DirectionState(epoch, keys.c2s, this.recvPrefix);
  }

  /** Switches the send side to the installed epoch (after sealing the rekey answer) and zeroizes the old send key. */
  switchSend(): void {
    this.usable();
    const next = this.nextSend;
    if (next === undefined) throw errors.pqRekeyInvalid("no rekey in progress");
    this.send.wipe();
    this.send = next;
    this.nextSend = undefined;
  }

  /** Zeroizes every key; the layer refuses all calls afterwards. */
  destroy(): void {
    this.destroyed = true;
    this.send.wipe();
    this.recv.wipe();
    this.nextSend?.wipe();
    this.nextRecv?.wipe();
    this.nextSend = undefined;
    this.nextRecv = undefined;
  }

  private usable(): void {
    if (this.destroyed || this.failed) throw errors.pqRekeyInvalid("the record layer is closed");
  }
}

function refused(): Error {
  return errors.pqRecordInvalid();
}
