/**
 * An INDEPENDENT client of the Volly post-quantum channel, written from DESIGN §5 alone. It imports nothing from
 * `src/`: ML-KEM-768 comes from `@noble/post-quantum` (not the server's `mlkem`), everything else from WebCrypto,
 * and the key schedule is re-derived here (using WebCrypto's one-shot HKDF where the design composes
 * Extract + Expand, so even the HKDF code path differs from the project's). It is transport-agnostic: bytes in,
 * bytes out; callers move the fields over whatever transport they test. Calls are meant to be awaited one by one.
 */
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";

export type IndependentAlgorithm = "ML-KEM-768" | "X25519MLKEM768";

/** A token-bound key pair for way (a): `publicKey` goes into the token's `pqPublicKey` (standard base64). */
export interface IndependentTokenKeyPair {
  algorithm: IndependentAlgorithm;
  publicKey: Uint8Array;
  mlkemSecretKey: Uint8Array;
  x25519PrivateKey?: CryptoKey;
}

export interface HandshakeMessageFields {
  algorithm: string;
  clientPublicKey: Uint8Array;
  sessionId: string;
  clientNonce: Uint8Array;
}

export interface HandshakeResponseFields {
  algorithm: string;
  kemCiphertext: Uint8Array;
  sessionId: string;
  serverNonce: Uint8Array;
  expiresAt: bigint | number;
  serverFinished: Uint8Array;
}

export interface RecordFields {
  epoch: number;
  seq: bigint;
  ciphertext: Uint8Array;
}

export interface IndependentClient {
  /** The server-assigned session id, once the handshake response arrived. */
  readonly sessionId: string | undefined;
  readonly epoch: number;
  /** Way (b): the `pq_handshake` fields (fresh ephemeral key, 32-byte nonce). Not for a token-bound client. */
  handshakeMessage(label?: string): Promise<HandshakeMessageFields>;
  /** Verifies server_finished and returns client_finished. Throws if it does not verify. */
  onHandshakeResponse(fields: HandshakeResponseFields): Promise<{ clientFinished: Uint8Array }>;
  seal(plaintext: Uint8Array): Promise<RecordFields>;
  /** Strict: exactly the next seq of the receive epoch; throws otherwise or on a bad tag. */
  open(record: RecordFields): Promise<Uint8Array>;
  startRekey(): Promise<{ algorithm: string; clientPublicKey: Uint8Array }>;
  onRekeyResponse(fields: { kemCiphertext: Uint8Array; epoch: number }): Promise<void>;
  exportKey(label: string, length: number): Promise<Uint8Array>;
}

const subtle = globalThis.crypto.subtle;
const te = new TextEncoder();
const u8 = (b: ArrayBuffer): Uint8Array => new Uint8Array(b);
const ab = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b); // a fresh ArrayBuffer-backed copy

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
function be32(n: number): Uint8Array {
  return Uint8Array.of((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}
function be64(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  for (let i = 7; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}
const lp = (x: Uint8Array): Uint8Array => cat(be32(x.length), x);
const sha256 = async (x: Uint8Array): Promise<Uint8Array> => u8(await subtle.digest("SHA-256", ab(x)));

async function hmacKey(key: Uint8Array, usage: "sign" | "verify"): Promise<CryptoKey> {
  return subtle.importKey("raw", ab(key), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}
/** HKDF-Expand(Extract(salt, ikm), info, 32) in one WebCrypto call. */
async function hkdf(salt: Uint8Array, ikm: Uint8Array, info: string): Promise<Uint8Array> {
  const k = await subtle.importKey("raw", ab(ikm), "HKDF", false, ["deriveBits"]);
  return u8(await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: ab(salt), info: ab(te.encode(info)) }, k, 256));
}
/** HKDF-Expand alone (RFC 5869 §2.3), for the exporter. */
async function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
  const k = await hmacKey(prk, "sign");
  let t: Uint8Array = new Uint8Array(0);
  const out: Uint8Array[] = [];
  for (let i = 1; out.length * 32 < length; i++) {
    t = u8(await subtle.sign("HMAC", k, ab(cat(t, info, Uint8Array.of(i)))));
    out.push(t);
  }
  return cat(...out).slice(0, length);
}

async function x25519Pair(): Promise<{ pub: Uint8Array; priv: CryptoKey }> {
  const kp = (await subtle.generateKey({ name: "X25519" }, true, ["deriveBits"])) as CryptoKeyPair;
  return { pub: u8(await subtle.exportKey("raw", kp.publicKey)), priv: kp.privateKey };
}
async function x25519(priv: CryptoKey, peer: Uint8Array): Promise<Uint8Array> {
  const pub = await subtle.importKey("raw", ab(peer), { name: "X25519" }, true, []);
  const s = u8(await subtle.deriveBits({ name: "X25519", public: pub }, priv, 256));
  if (s.every((b) => b === 0)) throw new Error("all-zero X25519 secret");
  return s;
}

/** A key pair for the token path (way a). For the hybrid the token binds the full 1216-byte share. */
export async function generateTokenKeyPair(algorithm: IndependentAlgorithm): Promise<IndependentTokenKeyPair> {
  const { publicKey, secretKey } = ml_kem768.keygen();
  if (algorithm === "ML-KEM-768") return { algorithm, publicKey, mlkemSecretKey: secretKey };
  const x = await x25519Pair();
  return { algorithm, publicKey: cat(publicKey, x.pub), mlkemSecretKey: secretKey, x25519PrivateKey: x.priv };
}

async function decap(alg: IndependentAlgorithm, ct: Uint8Array, kp: IndependentTokenKeyPair): Promise<Uint8Array> {
  if (alg === "ML-KEM-768") return ml_kem768.decapsulate(ct, kp.mlkemSecretKey);
  if (ct.length !== 1120 || kp.x25519PrivateKey === undefined) throw new Error("bad hybrid ciphertext or key");
  return cat(ml_kem768.decapsulate(ct.subarray(0, 1088), kp.mlkemSecretKey), await x25519(kp.x25519PrivateKey, ct.subarray(1088)));
}

interface Dir {
  epoch: number;
  key: CryptoKey;
  seq: bigint;
}

/** A client for one connection. With `tokenKeyPair`, the server speaks first (way a); else call `handshakeMessage`. */
export function createIndependentClient(options: {
  accessToken: string;
  algorithm: IndependentAlgorithm;
  tokenKeyPair?: IndependentTokenKeyPair;
}): IndependentClient {
  const { accessToken, algorithm } = options;
  let keyPair = options.tokenKeyPair;
  let clientNonce: Uint8Array = new Uint8Array(0);
  let sessionId: string | undefined;
  let send: Dir | undefined;
  let recv: Dir | undefined;
  let chain: Uint8Array | undefined;
  let exporter: Uint8Array | undefined;
  let rekeyPair: IndependentTokenKeyPair | undefined;
  const aesKey = (raw: Uint8Array): Promise<CryptoKey> =>
    subtle.importKey("raw", ab(raw), "AES-GCM", false, ["encrypt", "decrypt"]);
  // AAD = "volly-record-v1" ‖ lp(session_id) ‖ direction ‖ uint32_be(epoch) ‖ uint64_be(seq); nonce = the last 12.
  const aad = (dir: number, epoch: number, seq: bigint): Uint8Array =>
    cat(te.encode("volly-record-v1"), lp(te.encode(sessionId!)), Uint8Array.of(dir), be32(epoch), be64(seq));

  return {
    get sessionId() {
      return sessionId;
    },
    get epoch() {
      return send?.epoch ?? 0;
    },

    async handshakeMessage(label = "independent-client") {
      if (options.tokenKeyPair !== undefined) throw new Error("token-bound client sends no pq_handshake");
      keyPair = await generateTokenKeyPair(algorithm);
      clientNonce = crypto.getRandomValues(new Uint8Array(32));
      return { algorithm, clientPublicKey: keyPair.publicKey, sessionId: label, clientNonce };
    },

    async onHandshakeResponse(r) {
      if (keyPair === undefined) throw new Error("no key pair: call handshakeMessage first");
      if (r.algorithm !== algorithm) throw new Error("algorithm differs");
      if (!/^[0-9a-f]{32}$/.test(r.sessionId)) throw new Error("bad session id");
      const ss = await decap(algorithm, r.kemCiphertext, keyPair);
      const transcript = await sha256(
        cat(
          te.encode("volly-pq-v1"),
          lp(te.encode(r.algorithm)),
          lp(te.encode(r.sessionId)),
          lp(await sha256(te.encode(accessToken))),
          lp(clientNonce),
          lp(r.serverNonce),
          lp(keyPair.publicKey),
          lp(r.kemCiphertext),
        ),
      );
      const confirm = await hkdf(transcript, ss, "volly confirm");
      const ok = await subtle.verify(
        "HMAC",
        await hmacKey(confirm, "verify"),
        ab(r.serverFinished),
        ab(cat(te.encode("server finished"), transcript)),
      );
      if (!ok) throw new Error("server_finished does not verify");
      sessionId = r.sessionId;
      send = { epoch: 0, key: await aesKey(await hkdf(transcript, ss, "volly c2s key")), seq: 0n };
      recv = { epoch: 0, key: await aesKey(await hkdf(transcript, ss, "volly s2c key")), seq: 0n };
      chain = await hkdf(transcript, ss, "volly chain");
      exporter = await hkdf(transcript, ss, "volly exporter");
      const clientFinished = u8(
        await subtle.sign("HMAC", await hmacKey(confirm, "sign"), ab(cat(te.encode("client finished"), transcript))),
      );
      return { clientFinished };
    },

    async seal(plaintext) {
      if (send === undefined) throw new Error("no session");
      const { epoch, key } = send;
      const seq = send.seq++;
      const a = aad(0x01, epoch, seq);
      const ct = await subtle.encrypt({ name: "AES-GCM", iv: ab(a.subarray(a.length - 12)), additionalData: ab(a) }, key, ab(plaintext));
      return { epoch, seq, ciphertext: u8(ct) };
    },

    async open(record) {
      if (recv === undefined) throw new Error("no session");
      if (record.epoch !== recv.epoch || record.seq !== recv.seq) throw new Error("unexpected epoch or seq");
      const a = aad(0x02, record.epoch, record.seq);
      const pt = await subtle.decrypt(
        { name: "AES-GCM", iv: ab(a.subarray(a.length - 12)), additionalData: ab(a) },
        recv.key,
        ab(record.ciphertext),
      );
      recv.seq++;
      return u8(pt);
    },

    async startRekey() {
      rekeyPair = await generateTokenKeyPair(algorithm);
      return { algorithm, clientPublicKey: rekeyPair.publicKey };
    },

    async onRekeyResponse(r) {
      if (rekeyPair === undefined || send === undefined || chain === undefined) throw new Error("no rekey in progress");
      const newEpoch = send.epoch + 1;
      if (r.epoch !== newEpoch) throw new Error("unexpected rekey epoch");
      const ss = await decap(algorithm, r.kemCiphertext, rekeyPair);
      const rt = await sha256(
        cat(
          te.encode("volly-rekey-v1"),
          lp(te.encode(algorithm)),
          lp(te.encode(sessionId!)),
          be32(newEpoch),
          lp(rekeyPair.publicKey),
          lp(r.kemCiphertext),
        ),
      );
      const ikm = cat(ss, rt);
      send = { epoch: newEpoch, key: await aesKey(await hkdf(chain, ikm, "volly c2s key")), seq: 0n };
      // The answer was the last record of the old epoch: receive switches now too.
      recv = { epoch: newEpoch, key: await aesKey(await hkdf(chain, ikm, "volly s2c key")), seq: 0n };
      chain = await hkdf(chain, ikm, "volly chain");
      rekeyPair = undefined;
    },

    async exportKey(label, length) {
      if (exporter === undefined) throw new Error("no session");
      return hkdfExpand(exporter, te.encode(label), length);
    },
  };
}
