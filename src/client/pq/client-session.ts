import { GCM_TAG_BYTES } from "../../protocol/pq/algorithms.js";
import type { PqAlgorithm } from "../../protocol/pq/algorithms.js";
import { concat, zeroize } from "../../protocol/pq/bytes.js";
import { decapsulate, generateKeyPair } from "../../protocol/pq/kem.js";
import type { KemKeyPair } from "../../protocol/pq/kem.js";
import { deriveRekeyKeys, exportKey, recordAadPrefix, recordNonce, rekeyTranscript } from "../../protocol/pq/key-schedule.js";
import { PqError } from "../../protocol/pq/pq-error.js";
import type { PqPrimitives } from "../../protocol/pq/primitives.js";

/** A `secure` record as on the wire. */
export interface ClientSecureRecord { epoch: number; seq: bigint; ciphertext: Uint8Array }

/** The client's `rekey {algorithm, client_public_key}`. */
export interface ClientRekeyRequest { algorithm: PqAlgorithm; clientPublicKey: Uint8Array }

/** The server's `rekey {kem_ciphertext, epoch}` (`epoch` is the new epoch). */
export interface ClientRekeyResponse { kemCiphertext: Uint8Array; epoch: number }

/** What the handshake hands over (ownership of the keys included). */
export interface ClientPqSessionInit {
  sessionId: string;
  algorithm: PqAlgorithm;
  expiresAt: number;
  keys: { c2s: Uint8Array; s2c: Uint8Array; chain: Uint8Array; exporter: Uint8Array };
  primitives: PqPrimitives;
}

/** Records per direction and epoch before the channel refuses to go on without a rekey. */
const MAX_RECORDS_PER_EPOCH = 2n ** 32n;

interface Direction {
  readonly epoch: number;
  readonly key: Uint8Array;
  nextSeq: bigint;
  /** Encryptions/decryptions still using `key`; it is zeroized only after they settle. */
  readonly busy: Set<Promise<unknown>>;
}

interface Deferred {
  readonly done: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

interface RekeyInFlight extends Deferred {
  /** The fresh key pair; taken (undefined again) as soon as `completeRekey` starts. */
  keyPair: KemKeyPair | undefined;
}

/**
 * The client's established post-quantum session (browser and Node; WebCrypto through `PqPrimitives`). Records
 * use c2s to send and s2c to receive; `seal` assigns seq synchronously so concurrent calls keep their order;
 * `open` runs strictly in arrival order and accepts exactly the next seq. Rekey: `startRekey()` → send the
 * request → `completeRekey(answer)` switches the send side at once and the receive side right after the answer
 * (an epoch e+1 record that races ahead of `completeRekey` waits for it). Errors are `PqError`s; a refused record
 * is fatal for `open`.
 */
export class ClientPqSession {
  readonly sessionId: string;
  readonly algorithm: PqAlgorithm;
  /** Milliseconds since the epoch when the server ends the session. */
  readonly expiresAt: number;
  private readonly primitives: PqPrimitives;
  private readonly sendPrefix: Uint8Array;
  private readonly recvPrefix: Uint8Array;
  private send: Direction;
  private recv: Direction;
  private chain: Uint8Array;
  private readonly exporter: Uint8Array;
  private rekeying: RekeyInFlight | undefined;
  private recvQueue: Promise<unknown> = Promise.resolve();
  private rekeyCount = 0;
  private failed = false;
  private destroyed = false;

  constructor(init: ClientPqSessionInit) {
    this.sessionId = init.sessionId;
    this.algorithm = init.algorithm;
    this.expiresAt = init.expiresAt;
    this.primitives = init.primitives;
    this.sendPrefix = recordAadPrefix(init.sessionId, "c2s");
    this.recvPrefix = recordAadPrefix(init.sessionId, "s2c");
    this.send = direction(0, init.keys.c2s);
    this.recv = direction(0, init.keys.s2c);
    this.chain = init.keys.chain;
    this.exporter = init.keys.exporter;
  }

  /** The epoch the client sends in. */
  get epoch(): number {
    return this.send.epoch;
  }

  /** The seq the next `seal` takes (a frame's size depends on it). */
  get nextSeq(): bigint {
    return this.send.nextSeq;
  }

  /** Completed rekeys. */
  get rekeys(): number {
    return this.rekeyCount;
  }

  /** Encrypts a client → server record. Do not modify `plaintext` until the promise settles. */
  seal(plaintext: Uint8Array): Promise<ClientSecureRecord> {
    if (this.destroyed) return Promise.reject(new PqError("state", "session destroyed"));
    const s = this.send;
    const seq = s.nextSeq;
    if (seq >= MAX_RECORDS_PER_EPOCH) return Promise.reject(new PqError("state", "record limit reached: rekey first"));
    s.nextSeq = seq + 1n; // assigned before any await: concurrent seals keep call order
    const nonce = recordNonce(s.epoch, seq);
    const work = this.primitives
      .aesGcmSeal(s.key, nonce, concat(this.sendPrefix, nonce), plaintext)
      .then((ciphertext) => ({ epoch: s.epoch, seq, ciphertext }));
    return track(s, work);
  }

  /** Decrypts a server → client record, strictly in arrival order; throws `PqError("record_invalid")`. */
  open(record: ClientSecureRecord): Promise<Uint8Array> {
    const result = this.recvQueue.then(() => this.openNow(record));
    this.recvQueue = result.catch(() => undefined);
    return result;
  }

  /** Starts a rekey with a fresh ephemeral key pair; send the returned fields as `rekey` inside the channel. */
  async startRekey(): Promise<ClientRekeyRequest> {
    if (this.destroyed || this.failed) throw new PqError("state", "session not usable");
    if (this.rekeying !== undefined) throw new PqError("state", "a rekey is already in progress");
    const inFlight: RekeyInFlight = { keyPair: undefined, ...deferred() };
    this.rekeying = inFlight;
    try {
      inFlight.keyPair = await generateKeyPair(this.algorithm, this.primitives);
    } catch (e) {
      this.rekeying = undefined;
      inFlight.reject(e);
      throw e;
    }
    return { algorithm: this.algorithm, clientPublicKey: inFlight.keyPair.publicKey };
  }

  /**
   * Completes a rekey with the server's answer (itself the last record of the old epoch): derives epoch e+1,
   * switches the send side at once and the receive side after the answer. A refused answer is fatal.
   */
  async completeRekey(response: ClientRekeyResponse): Promise<void> {
    const inFlight = this.rekeying;
    const keyPair = inFlight?.keyPair;
    if (inFlight === undefined || keyPair === undefined) throw new PqError("rekey_invalid", "no rekey in progress");
    inFlight.keyPair = undefined; // single use: a second call must not touch the (zeroized) key
    let ss: Uint8Array | undefined;
    try {
      if (this.destroyed || this.failed) throw new PqError("state", "session not usable");
      const newEpoch = this.send.epoch + 1;
      if (response.epoch !== newEpoch) {
        throw new PqError("rekey_invalid", `rekey answer names epoch ${response.epoch}, expected ${newEpoch}`);
      }
      ss = await decapsulate(this.algorithm, response.kemCiphertext, keyPair.secretKey, this.primitives);
      const th = await rekeyTranscript(this.primitives, {
        algorithm: this.algorithm,
        sessionId: this.sessionId,
        newEpoch,
        clientPublicKey: keyPair.publicKey,
        kemCiphertext: response.kemCiphertext,
      });
      const keys = await deriveRekeyKeys(this.primitives, this.chain, ss, th);
      if (this.destroyed) {
        zeroize(keys.c2s, keys.s2c, keys.chain);
        throw new PqError("state", "session destroyed");
      }
      retire(this.send);
      retire(this.recv);
      this.send = direction(newEpoch, keys.c2s);
      this.recv = direction(newEpoch, keys.s2c);
      zeroize(this.chain);
      this.chain = keys.chain;
      this.rekeyCount++;
      this.rekeying = undefined;
      inFlight.resolve();
    } catch (e) {
      this.failed = true;
      this.rekeying = undefined;
      inFlight.reject(e);
      throw e instanceof PqError ? e : new PqError("rekey_invalid", "rekey answer refused");
    } finally {
      zeroize(ss, keyPair.secretKey.mlkem);
    }
  }

  /** exportKey(label, length) = HKDF-Expand(exporter, UTF-8(label), length); stable across rekeys. */
  exportKey(label: string, length: number): Promise<Uint8Array> {
    if (this.destroyed) return Promise.reject(new PqError("state", "session destroyed"));
    if (!Number.isInteger(length) || length < 1 || length > 255 * 32) {
      return Promise.reject(new RangeError("exportKey length must be 1..8160"));
    }
    return exportKey(this.primitives, this.exporter, label, length);
  }

  /** Zeroizes every key (after in-flight operations settle); all later calls fail. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    const rk = this.rekeying;
    this.rekeying = undefined;
    if (rk !== undefined) {
      rk.reject(new PqError("state", "session destroyed"));
      if (rk.keyPair !== undefined) zeroize(rk.keyPair.secretKey.mlkem);
    }
    retire(this.send);
    retire(this.recv);
    zeroize(this.chain, this.exporter);
  }

  private async openNow(record: ClientSecureRecord): Promise<Uint8Array> {
    if (this.destroyed || this.failed) throw new PqError("record_invalid", "session not usable");
    try {
      if (record.epoch !== this.recv.epoch) {
        // Only the epoch right after a rekey we asked for, and only once completeRekey has installed it.
        const rk = this.rekeying;
        if (rk === undefined || record.epoch !== this.recv.epoch + 1) throw refused("unexpected epoch");
        await rk.done;
        if (record.epoch !== this.recv.epoch) throw refused("unexpected epoch");
      }
      const r = this.recv;
      if (record.seq !== r.nextSeq || r.nextSeq >= MAX_RECORDS_PER_EPOCH) throw refused("unexpected seq");
      if (record.ciphertext.length < GCM_TAG_BYTES) throw refused("truncated record");
      const nonce = recordNonce(r.epoch, record.seq);
      let plaintext: Uint8Array;
      try {
        plaintext = await track(r, this.primitives.aesGcmOpen(r.key, nonce, concat(this.recvPrefix, nonce), record.ciphertext));
      } catch {
        throw refused("authentication failed");
      }
      r.nextSeq = record.seq + 1n;
      return plaintext;
    } catch (e) {
      this.failed = true;
      throw e instanceof PqError && e.kind === "record_invalid" ? e : refused("record refused");
    }
  }
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  done.catch(() => undefined); // observed only when a new-epoch record waits on it
  return { done, resolve, reject };
}

function direction(epoch: number, key: Uint8Array): Direction {
  return { epoch, key, nextSeq: 0n, busy: new Set() };
}

/** Registers `work` as using `d.key` until it settles. */
function track<T>(d: Direction, work: Promise<T>): Promise<T> {
  d.busy.add(work);
  const forget = (): void => void d.busy.delete(work);
  work.then(forget, forget);
  return work;
}

/** Zeroizes a direction's key once every operation that uses it has settled. */
function retire(d: Direction): void {
  if (d.busy.size === 0) {
    d.key.fill(0);
    return;
  }
  void Promise.allSettled([...d.busy]).then(() => d.key.fill(0));
}

function refused(detail: string): PqError {
  return new PqError("record_invalid", `record refused: ${detail}`);
}
