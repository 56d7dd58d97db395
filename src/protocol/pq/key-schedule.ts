import { KEY_BYTES } from "./algorithms.js";
import { concat, lp, uint32be, uint64be, utf8, zeroize } from "./bytes.js";
import type { PqPrimitives } from "./primitives.js";

/**
 * The key schedule of the post-quantum channel, byte for byte as DESIGN §5 fixes it (so SDKs in other languages
 * interoperate). Strings are hashed as their UTF-8 bytes; `lp(x) = uint32_be(len(x)) ‖ x`.
 */
export { lp } from "./bytes.js";

/** Record direction: client → server or server → client. */
export type RecordDirection = "c2s" | "s2c";

/** Keys from the handshake (epoch 0). Each is 32 bytes; the holder zeroizes them. */
export interface HandshakeKeys {
  readonly c2s: Uint8Array;
  readonly s2c: Uint8Array;
  readonly confirm: Uint8Array;
  readonly chain: Uint8Array;
  readonly exporter: Uint8Array;
}

/** Keys from a rekey: the next epoch's traffic keys and the next chain key. */
export interface RekeyKeys {
  readonly c2s: Uint8Array;
  readonly s2c: Uint8Array;
  readonly chain: Uint8Array;
}

/** The public values the handshake transcript binds. */
export interface TranscriptInput {
  /** The algorithm in use, exactly as on the wire. */
  readonly algorithm: string;
  /** The server-assigned session id (32 lowercase hex digits). */
  readonly sessionId: string;
  /** The compact JWT exactly as it authenticated the connection. */
  readonly accessToken: string;
  /** Empty in the token path, else 32 bytes. */
  readonly clientNonce: Uint8Array;
  readonly serverNonce: Uint8Array;
  /** For the hybrid, the full client share ek ‖ x25519. */
  readonly clientPublicKey: Uint8Array;
  /** For the hybrid, the full server share ct ‖ x25519. */
  readonly kemCiphertext: Uint8Array;
}

/** The public values a rekey transcript binds. */
export interface RekeyTranscriptInput {
  readonly algorithm: string;
  readonly sessionId: string;
  readonly newEpoch: number;
  readonly clientPublicKey: Uint8Array;
  readonly kemCiphertext: Uint8Array;
}

const LABELS = {
  c2s: utf8("volly c2s key"),
  s2c: utf8("volly s2c key"),
  confirm: utf8("volly confirm"),
  chain: utf8("volly chain"),
  exporter: utf8("volly exporter"),
} as const;
const PQ_V1 = utf8("volly-pq-v1");
const REKEY_V1 = utf8("volly-rekey-v1");
const RECORD_V1 = utf8("volly-record-v1");
const SERVER_FINISHED = utf8("server finished");
const CLIENT_FINISHED = utf8("client finished");

/**
 * transcript = SHA-256("volly-pq-v1" ‖ lp(algorithm) ‖ lp(session_id) ‖ lp(SHA-256(access_token)) ‖
 * lp(client_nonce) ‖ lp(server_nonce) ‖ lp(client_public_key) ‖ lp(kem_ciphertext)).
 */
export async function transcriptHash(p: PqPrimitives, t: TranscriptInput): Promise<Uint8Array> {
  const tokenHash = await p.sha256(utf8(t.accessToken));
  return p.sha256(
    concat(
      PQ_V1,
      lp(utf8(t.algorithm)),
      lp(utf8(t.sessionId)),
      lp(tokenHash),
      lp(t.clientNonce),
      lp(t.serverNonce),
      lp(t.clientPublicKey),
      lp(t.kemCiphertext),
    ),
  );
}

/** prk = HKDF-Extract(salt = transcript, ikm = ss); each key = HKDF-Expand(prk, label, 32). The prk is zeroized. */
export async function deriveHandshakeKeys(p: PqPrimitives, ss: Uint8Array, transcript: Uint8Array): Promise<HandshakeKeys> {
  const prk = await p.hkdfExtract(transcript, ss);
  try {
    return {
      c2s: await p.hkdfExpand(prk, LABELS.c2s, KEY_BYTES),
      s2c: await p.hkdfExpand(prk, LABELS.s2c, KEY_BYTES),
      confirm: await p.hkdfExpand(prk, LABELS.confirm, KEY_BYTES),
      chain: await p.hkdfExpand(prk, LABELS.chain, KEY_BYTES),
      exporter: await p.hkdfExpand(prk, LABELS.exporter, KEY_BYTES),
    };
  } finally {
    zeroize(prk);
  }
}

/** server_finished = HMAC-SHA256(confirm, "server finished" ‖ transcript); client_finished likewise. */
export function finishedMac(
  p: PqPrimitives,
  confirm: Uint8Array,
  side: "server" | "client",
  transcript: Uint8Array,
): Promise<Uint8Array> {
  return p.hmacSha256(confirm, concat(side === "server" ? SERVER_FINISHED : CLIENT_FINISHED, transcript));
}

/**
 * rekey_transcript = SHA-256("volly-rekey-v1" ‖ lp(algorithm) ‖ lp(session_id) ‖ uint32_be(new_epoch) ‖
 * lp(client_public_key) ‖ lp(kem_ciphertext)).
 */
export function rekeyTranscript(p: PqPrimitives, r: RekeyTranscriptInput): Promise<Uint8Array> {
  return p.sha256(
    concat(
      REKEY_V1,
      lp(utf8(r.algorithm)),
      lp(utf8(r.sessionId)),
      uint32be(r.newEpoch),
      lp(r.clientPublicKey),
      lp(r.kemCiphertext),
    ),
  );
}

/**
 * prk = HKDF-Extract(salt = chain, ikm = new_ss ‖ rekey_transcript); c2s, s2c and chain from the same labels.
 * The prk and the concatenated ikm are zeroized; `chain` and `newSs` stay the caller's to zeroize.
 */
export async function deriveRekeyKeys(
  p: PqPrimitives,
  chain: Uint8Array,
  newSs: Uint8Array,
  rekeyTranscriptHash: Uint8Array,
): Promise<RekeyKeys> {
  const ikm = concat(newSs, rekeyTranscriptHash);
  const prk = await p.hkdfExtract(chain, ikm);
  try {
    return {
      c2s: await p.hkdfExpand(prk, LABELS.c2s, KEY_BYTES),
      s2c: await p.hkdfExpand(prk, LABELS.s2c, KEY_BYTES),
      chain: await p.hkdfExpand(prk, LABELS.chain, KEY_BYTES),
    };
  } finally {
    zeroize(prk, ikm);
  }
}

/** exportKey(label, length) = HKDF-Expand(exporter, UTF-8(label), length); distinct labels give independent keys. */
export function exportKey(p: PqPrimitives, exporter: Uint8Array, label: string, length: number): Promise<Uint8Array> {
  return p.hkdfExpand(exporter, utf8(label), length);
}

/** Record nonce: uint32_be(epoch) ‖ uint64_be(seq), 12 bytes. */
export function recordNonce(epoch: number, seq: bigint): Uint8Array {
  return concat(uint32be(epoch), uint64be(seq));
}

/** The constant part of a record AAD: "volly-record-v1" ‖ lp(session_id) ‖ direction byte (0x01 c2s, 0x02 s2c). */
export function recordAadPrefix(sessionId: string, direction: RecordDirection): Uint8Array {
  return concat(RECORD_V1, lp(utf8(sessionId)), Uint8Array.of(direction === "c2s" ? 0x01 : 0x02));
}

/** Record AAD: "volly-record-v1" ‖ lp(session_id) ‖ direction ‖ uint32_be(epoch) ‖ uint64_be(seq). */
export function recordAad(sessionId: string, direction: RecordDirection, epoch: number, seq: bigint): Uint8Array {
  return concat(recordAadPrefix(sessionId, direction), uint32be(epoch), uint64be(seq));
}
