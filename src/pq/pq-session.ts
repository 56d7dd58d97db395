import { fromOffset, toOffset } from "../compact-time.js";
import { monotonicMs } from "../monotonic-time.js";
import { errors } from "../errors.js";
import { KEY_BYTES, type PqAlgorithm } from "../protocol/pq/algorithms.js";
import { zeroize } from "../protocol/pq/bytes.js";
import { checkPublicKey, encapsulate } from "../protocol/pq/kem.js";
import { deriveRekeyKeys, exportKey, rekeyTranscript } from "../protocol/pq/key-schedule.js";
import type { PqPrimitives } from "../protocol/pq/primitives.js";
import { toCatalogueError } from "./pq-error-map.js";
import { ServerRecordLayer } from "./record-layer.js";
import { secretSlab, type Slot } from "./secret-slab.js";
import type { SecureRecordFields } from "./record-layer.js";

/** The client's `rekey {algorithm, client_public_key}`. */
export interface RekeyRequestFields {
  algorithm: string;
  clientPublicKey: Uint8Array;
}

/** The server's `rekey {kem_ciphertext, epoch}`; `epoch` is the new epoch. */
export interface RekeyResponseFields {
  kemCiphertext: Uint8Array;
  epoch: number;
}

/** A rekey ready to answer: seal `response` under the old epoch, then call `commit()` in the same tick. */
export interface PreparedRekey {
  readonly response: RekeyResponseFields;
  /** Switches the send side to the new epoch, replaces the chain key and counts the rekey. */
  commit(): void;
}

/** What the handshake hands over to the session (ownership of the keys included). */
export interface PqSessionInit {
  sessionId: string;
  algorithm: PqAlgorithm;
  label: string;
  createdAt: number;
  expiresAt: number;
  keys: { c2s: Uint8Array; s2c: Uint8Array; chain: Uint8Array; exporter: Uint8Array };
  primitives: PqPrimitives;
  now: () => number;
}

/**
 * An established post-quantum session of one connection (server side). Traffic, chain and exporter keys live only
 * here, in process memory, and never leave it: records go through `seal`/`open`, other channels get derived keys
 * from `exportKey`. `destroy()` zeroizes everything.
 */
export class PqSession {
  /** Server-assigned id: 32 lowercase hex digits. */
  readonly sessionId: string;
  readonly algorithm: PqAlgorithm;
  /** The session id the client proposed (a label only; may be empty). */
  readonly label: string;
  /** `createdAt` and `expiresAt` (the cluster's clock), as offsets (`compact-time.ts`). */
  private readonly created: number;
  private readonly expires: number;
  /**
   * When the session began and when its keys were last established, on the monotonic clock (`monotonicMs`):
   * its deadlines (expiry, rekey due) are judged there, so that a step of the wall clock fires neither.
   */
  private readonly began: number;
  private readonly records: ServerRecordLayer;
  private readonly primitives: PqPrimitives;
  private readonly now: () => number;
  /** chain ‖ exporter (32 bytes each) in one slot of the slab; given back by `destroy`. */
  private readonly secrets: Slot;
  private rekeyCount = 0;
  private lastKeyed: number;
  private rekeyBusy = false;
  private isDestroyed = false;

  /** Built by `ServerHandshake` once client_finished verifies; takes ownership of `init.keys`. */
  constructor(init: PqSessionInit) {
    this.sessionId = init.sessionId;
    this.algorithm = init.algorithm;
    this.label = init.label;
    this.created = toOffset(init.createdAt);
    this.expires = toOffset(init.expiresAt);
    this.primitives = init.primitives;
    this.now = init.now;
    this.secrets = secretSlab.take();
    const secrets = secretSlab.view(this.secrets, 0, 2 * KEY_BYTES);
    secrets.set(init.keys.chain, 0);
    secrets.set(init.keys.exporter, KEY_BYTES);
    zeroize(init.keys.chain, init.keys.exporter);
    this.records = new ServerRecordLayer(init.sessionId, { c2s: init.keys.c2s, s2c: init.keys.s2c });
    this.began = monotonicMs();
    this.lastKeyed = this.began;
  }

  /** Milliseconds since the epoch when client_finished verified. */
  get createdAt(): number {
    return fromOffset(this.created);
  }

  /** Milliseconds since the epoch when the session ends (the handshake's `expires_at`). */
  get expiresAt(): number {
    return fromOffset(this.expires);
  }

  /** The epoch the server sends in (0 after the handshake, +1 per committed rekey). */
  get epoch(): number {
    return this.records.sendEpoch;
  }

  /** Committed rekeys. */
  get rekeys(): number {
    return this.rekeyCount;
  }

  /** When the current traffic keys were established: `createdAt` until the first rekey commits. */
  get lastRekeyAt(): number {
    return fromOffset(this.created + (this.lastKeyed - this.began));
  }

  /** Milliseconds the current traffic keys have been in use at `monotonicNow` (`monotonicMs()`). */
  keyAgeMs(monotonicNow: number): number {
    return monotonicNow - this.lastKeyed;
  }

  /** True once the session's lifetime (`expiresAt` − `createdAt`) has elapsed at `monotonicNow` (`monotonicMs()`). */
  hasLapsed(monotonicNow: number): boolean {
    return monotonicNow - this.began >= this.expires - this.created;
  }

  /** True after `destroy()`. */
  get destroyed(): boolean {
    return this.isDestroyed;
  }

  /** True once `now` (the clock the handshake was given) has reached `expiresAt`; deadlines use `hasLapsed`. */
  isExpired(now: number = this.now()): boolean {
    return toOffset(now) >= this.expires;
  }

  /** Encrypts a server → client record (synchronous; see `ServerRecordLayer.seal`). */
  seal(plaintext: Uint8Array): SecureRecordFields {
    return this.records.seal(plaintext);
  }

  /** Decrypts a client → server record; throws `errors.pqRecordInvalid()` for anything but the next record. */
  open(record: SecureRecordFields): Uint8Array {
    return this.records.open(record);
  }

  /** The epoch and seq the next sealed record takes (to frame it before sealing in place). */
  get sendEpoch(): number {
    return this.records.sendEpoch;
  }

  get sendSeq(): number {
    return this.records.sendSeq;
  }

  /** Encrypts plaintext ‖ 16 spare bytes in place (see `ServerRecordLayer.sealInPlace`). */
  sealInPlace(view: Uint8Array): void {
    this.records.sealInPlace(view);
  }

  /** Decrypts a received record's ciphertext where it lies (see `ServerRecordLayer.openInPlace`). */
  openInPlace(epoch: number, seq: number, view: Uint8Array): Uint8Array {
    return this.records.openInPlace(epoch, seq, view);
  }

  /**
   * Answers a client rekey: checks the algorithm (must be the session's) and the fresh key, encapsulates to it and
   * derives epoch e+1 (rekey_transcript, HKDF-Extract(salt = chain, ikm = new_ss ‖ rekey_transcript)). The receive
   * side switches by itself on the client's first e+1 record. Throws `errors.pqRekeyInvalid(...)`.
   */
  async prepareRekey(req: RekeyRequestFields): Promise<PreparedRekey> {
    if (this.isDestroyed) throw errors.pqRekeyInvalid("the session has ended");
    if (req.algorithm !== this.algorithm) {
      throw errors.pqRekeyInvalid(`algorithm must be ${this.algorithm}, the session's algorithm`);
    }
    if (this.rekeyBusy || this.records.rekeyPending) throw errors.pqRekeyInvalid("a rekey is already in progress");
    try {
      checkPublicKey(this.algorithm, req.clientPublicKey);
    } catch (e) {
      throw toCatalogueError(e, "rekey");
    }
    this.rekeyBusy = true;
    let newSs: Uint8Array | undefined;
    try {
      const newEpoch = this.records.sendEpoch + 1;
      const { ciphertext, sharedSecret } = await encapsulate(this.algorithm, req.clientPublicKey, this.primitives);
      newSs = sharedSecret;
      const th = await rekeyTranscript(this.primitives, {
        algorithm: this.algorithm,
        sessionId: this.sessionId,
        newEpoch,
        clientPublicKey: req.clientPublicKey,
        kemCiphertext: ciphertext,
      });
      if (this.isDestroyed) throw errors.pqRekeyInvalid("the session has ended");
      // A copy: the slot goes back to the slab if the session ends while the derivation runs.
      const chain = secretSlab.view(this.secrets, 0, KEY_BYTES).slice();
      const keys = await deriveRekeyKeys(this.primitives, chain, sharedSecret, th).finally(() => zeroize(chain));
      if (this.isDestroyed) {
        zeroize(keys.c2s, keys.s2c, keys.chain);
        throw errors.pqRekeyInvalid("the session has ended");
      }
      this.records.installNextEpoch({ c2s: keys.c2s, s2c: keys.s2c });
      let committed = false;
      return {
        response: { kemCiphertext: ciphertext, epoch: newEpoch },
        commit: () => {
          if (committed) return;
          committed = true;
          if (this.isDestroyed) {
            zeroize(keys.chain);
            return;
          }
          this.records.switchSend();
          secretSlab.view(this.secrets, 0, KEY_BYTES).set(keys.chain);
          zeroize(keys.chain);
          this.rekeyCount++;
          this.lastKeyed = monotonicMs();
          this.rekeyBusy = false;
        },
      };
    } catch (e) {
      this.rekeyBusy = false;
      throw toCatalogueError(e, "rekey");
    } finally {
      zeroize(newSs);
    }
  }

  /**
   * exportKey(label, length) = HKDF-Expand(exporter, UTF-8(label), length): keys for other channels (distinct labels
   * give independent keys). The exporter is fixed for the session, so the result does not change across rekeys.
   */
  exportKey(label: string, length: number): Promise<Uint8Array> {
    if (this.isDestroyed) return Promise.reject(errors.pqSessionExpired());
    if (!Number.isInteger(length) || length < 1 || length > 255 * 32) {
      return Promise.reject(new RangeError("exportKey length must be 1..8160"));
    }
    // A copy, for the same reason as the chain key's in `rekey`.
    const exporter = secretSlab.view(this.secrets, KEY_BYTES, KEY_BYTES).slice();
    return exportKey(this.primitives, exporter, label, length).finally(() => zeroize(exporter));
  }

  /** Zeroizes every key of the session; all later calls fail. Idempotent. */
  destroy(): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    this.records.destroy();
    secretSlab.give(this.secrets);
  }
}
