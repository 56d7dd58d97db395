// A load-generator client for Volly: binary protobuf frames over `/rtc`, and when PQ is on the handshake
// (way b, ML-KEM-768) plus a synchronous in-place record layer (the server's AEAD backend), so the generator spends as little CPU as
// it can on crypto the server also does.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import WebSocket from "ws";
import { SignalRequestSchema, SignalResponseSchema, type SignalRequest, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { decapsulate, generateKeyPair } from "../../src/protocol/pq/kem.js";
import { deriveHandshakeKeys, finishedMac, recordAadPrefix, transcriptHash } from "../../src/protocol/pq/key-schedule.js";
import { nodePrimitives } from "../../src/pq/node-primitives.js";
import { recordAead } from "../../src/pq/record-aead.js";
import { parseSecureResponse, secureRequestFrame } from "../../src/protocol/relay-frames.js";
import { WIRE_LEN, WireReader } from "../../src/protocol/wire-bytes.js";
import type { BenchPeer, MessageHandler } from "./bench-peer.js";
import { turnBatchedSender } from "./turn-batch.js";

const utf8 = new TextDecoder();

/** A relayed offer (field 3) or trickle (field 4), read by hand: kind, from, payload, message id. */
function parseRelayed(bytes: Uint8Array): { kind: "offer" | "candidate"; from: string; payload: string; messageId: bigint } | undefined {
  const r = new WireReader(bytes);
  const tag = r.varint();
  if (tag !== 3 * 8 + WIRE_LEN && tag !== 4 * 8 + WIRE_LEN) return undefined;
  const kind = tag === 3 * 8 + WIRE_LEN ? "offer" : "candidate";
  const length = r.varint();
  const end = r.pos + length;
  const inner = new WireReader(bytes, end);
  inner.pos = r.pos;
  let from = "";
  let payload = "";
  while (!inner.done) {
    const t = inner.varint();
    const n = inner.varint();
    if (t === 1 * 8 + WIRE_LEN) payload = utf8.decode(bytes.subarray(inner.pos, inner.pos + n));
    else if (t === 4 * 8 + WIRE_LEN) from = utf8.decode(bytes.subarray(inner.pos, inner.pos + n));
    inner.pos += n;
  }
  r.pos = end;
  let messageId = 0n;
  while (!r.done) {
    const t = r.varint();
    const v = r.varint();
    if (t === 101 * 8) messageId = BigInt(v);
  }
  return { kind, from, payload, messageId };
}

/** Nonce and AAD of one direction (DESIGN §5), rewritten in place per record: the generator allocates nothing for them. */
class RecordPosition {
  readonly nonce = new Uint8Array(12);
  readonly aad: Uint8Array;
  private readonly nonceView = new DataView(this.nonce.buffer);
  private readonly aadView: DataView;
  private readonly at: number;

  constructor(sessionId: string, direction: "c2s" | "s2c") {
    const prefix = recordAadPrefix(sessionId, direction);
    this.at = prefix.length;
    this.aad = new Uint8Array(prefix.length + 12);
    this.aad.set(prefix);
    this.aadView = new DataView(this.aad.buffer);
  }

  set(epoch: number, seq: number): this {
    this.nonceView.setUint32(0, epoch);
    this.nonceView.setUint32(8, seq);
    this.aadView.setUint32(this.at, epoch);
    this.aadView.setUint32(this.at + 8, seq);
    return this;
  }
}

interface Keys {
  sessionId: string;
  c2s: Uint8Array;
  s2c: Uint8Array;
  sendSeq: number;
  recvSeq: number;
  send: RecordPosition;
  receive: RecordPosition;
}

/** Connects, completes the handshake (if `pq`) and waits for `join`; resolves with a ready peer. */
export async function connectVolly(port: number, token: string, pq: boolean): Promise<BenchPeer & { joinMs: number }> {
  // The ephemeral key (way b) is made before the socket opens, as the SDK can do while the upgrade is in
  // flight: it is the client's work either way, but here it does not hold the connection open idle.
  const kp = pq ? await generateKeyPair("ML-KEM-768", nodePrimitives) : undefined;
  const clientNonce = pq ? nodePrimitives.randomBytes(32) : new Uint8Array(0);
  const started = performance.now();
  const ws = new WebSocket(`ws://127.0.0.1:${port}/rtc?access_token=${token}&format=protobuf`, { perMessageDeflate: false });
  const send = turnBatchedSender(ws);
  ws.binaryType = "nodebuffer";
  let keys: Keys | undefined;
  let onMessage: MessageHandler = () => {};
  let lastId = 0n;
  let sinceAck = 0;

  // Like a real client's hot path, and so the generator does no more work per message than the server:
  // requests are encoded once per (kind, target, payload) and records framed by hand.
  const sendBytes = (bytes: Uint8Array) => {
    if (keys) {
      const seq = keys.sendSeq++;
      // Framed once and sealed in place, with the same AEAD backend as the server.
      const frame = secureRequestFrame(0, seq, bytes.length + 16);
      const at = frame.length - bytes.length - 16;
      frame.set(bytes, at);
      const p = keys.send.set(0, seq);
      recordAead.seal(keys.c2s, p.nonce, p.aad, frame.subarray(at));
      send(frame);
    } else send(bytes);
  };
  const sendRequest = (request: SignalRequest) => sendBytes(toBinary(SignalRequestSchema, request));
  const encoded = new Map<string, { payload: string; bytes: Uint8Array }>();
  const plaintextOf = (frame: Buffer): Uint8Array => {
    if (!keys) return frame;
    const r = parseSecureResponse(frame);
    if (!r) throw new Error("expected a record");
    if (r.seq !== keys.recvSeq) throw new Error("record out of order");
    keys.recvSeq++;
    const p = keys.receive.set(r.epoch, r.seq);
    if (!recordAead.open(keys.s2c, p.nonce, p.aad, r.ciphertext)) throw new Error("record refused");
    return r.ciphertext.subarray(0, r.ciphertext.length - 16);
  };

  // The server may send `join` in the same packet as the upgrade answer: listen before 'open'.
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const first = new Promise<SignalResponse>((resolve, reject) => {
    const pending: Buffer[] = [];
    let handshaking = pq;
    let frameArrived: (() => void) | undefined;
    ws.on("message", (data: Buffer) => {
      if (handshaking) {
        pending.push(data);
        frameArrived?.();
        return;
      }
      let plaintext: Uint8Array;
      try {
        plaintext = plaintextOf(data);
      } catch (e) {
        reject(e);
        return;
      }
      const relayed = parseRelayed(plaintext);
      const id = relayed ? relayed.messageId : undefined;
      let inner: SignalResponse | undefined;
      if (!relayed) {
        inner = fromBinary(SignalResponseSchema, plaintext);
        if (inner.message.case === "join") return resolve(inner);
      }
      const messageId = id ?? inner?.messageId ?? 0n;
      if (messageId > 0n) {
        lastId = messageId;
        if (++sinceAck >= 32) {
          sinceAck = 0;
          sendRequest(create(SignalRequestSchema, { message: { case: "ack", value: { lastMessageId: lastId } } }));
        }
      }
      if (relayed) onMessage(relayed.from, relayed.kind, relayed.payload);
      else if (inner?.message.case === "error") reject(new Error(`${inner.message.value.code}: ${inner.message.value.message}`));
    });
    if (!kp) return;
    void (async () => {
      await opened;
      ws.send(toBinary(SignalRequestSchema, create(SignalRequestSchema, {
        message: { case: "pqHandshake", value: { algorithm: "ML-KEM-768", clientPublicKey: kp.publicKey, sessionId: "", clientNonce } },
      })));
      if (pending.length === 0) await new Promise<void>((r) => (frameArrived = r));
      frameArrived = undefined;
      const r = fromBinary(SignalResponseSchema, pending.shift() as Buffer);
      if (r.message.case !== "pqHandshakeResponse") throw new Error(`expected handshake response, got ${r.message.case}`);
      const h = r.message.value;
      const ss = await decapsulate("ML-KEM-768", h.kemCiphertext, kp.secretKey, nodePrimitives);
      const th = await transcriptHash(nodePrimitives, {
        algorithm: h.algorithm, sessionId: h.sessionId, accessToken: token, clientNonce, serverNonce: h.serverNonce,
        clientPublicKey: kp.publicKey, kemCiphertext: h.kemCiphertext,
      });
      const k = await deriveHandshakeKeys(nodePrimitives, ss, th);
      const clientFinished = await finishedMac(nodePrimitives, k.confirm, "client", th);
      ws.send(toBinary(SignalRequestSchema, create(SignalRequestSchema, { message: { case: "pqFinished", value: { clientFinished } } })));
      keys = { sessionId: h.sessionId, c2s: k.c2s, s2c: k.s2c, sendSeq: 0, recvSeq: 0, send: new RecordPosition(h.sessionId, "c2s"), receive: new RecordPosition(h.sessionId, "s2c") };
      handshaking = false;
      for (const f of pending.splice(0)) ws.emit("message", f);
    })().catch(reject);
  });
  await opened;
  await first;
  const joinMs = performance.now() - started;
  return {
    joinMs,
    send(to, kind, payload) {
      const key = `${kind}|${to}`;
      let cached = encoded.get(key);
      if (cached?.payload !== payload) {
        cached = {
          payload,
          bytes: toBinary(SignalRequestSchema, create(SignalRequestSchema, {
            message: kind === "offer" ? { case: "offer", value: { sdp: payload, target: to } } : { case: "trickle", value: { candidate: payload, target: to } },
          })),
        };
        encoded.set(key, cached);
      }
      sendBytes(cached.bytes);
    },
    onMessage(handler) {
      onMessage = handler;
    },
    close() {
      ws.terminate();
    },
    settle() {
      // The SDK pings every ping_interval with its last message id, which lets the server drop acknowledged
      // messages (participant updates of the room) from the mailbox.
      sendRequest(create(SignalRequestSchema, { message: { case: "ping", value: { timestamp: BigInt(Date.now()), lastMessageId: lastId } } }));
    },
  };
}
