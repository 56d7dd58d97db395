// A load-generator client for Volly: binary protobuf frames over `/rtc`, and when PQ is on the handshake
// (way b, ML-KEM-768) plus a synchronous node:crypto record layer, so the generator spends as little CPU as
// it can on crypto the server also does.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import WebSocket from "ws";
import { SignalRequestSchema, SignalResponseSchema, type SignalRequest, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { decapsulate, generateKeyPair } from "../../src/protocol/pq/kem.js";
import { deriveHandshakeKeys, finishedMac, recordAad, recordNonce, transcriptHash } from "../../src/protocol/pq/key-schedule.js";
import { aesGcmOpenSync, aesGcmSealSync, nodePrimitives } from "../../src/pq/node-primitives.js";
import { encodeSecureRequest, parseSecureResponse } from "../../src/protocol/relay-frames.js";
import { WIRE_LEN, WireReader } from "../../src/protocol/wire-bytes.js";
import type { BenchPeer, MessageHandler } from "./bench-peer.js";

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

interface Keys {
  sessionId: string;
  c2s: Uint8Array;
  s2c: Uint8Array;
  sendSeq: bigint;
  recvSeq: bigint;
}

/** Connects, completes the handshake (if `pq`) and waits for `join`; resolves with a ready peer. */
export async function connectVolly(port: number, token: string, pq: boolean): Promise<BenchPeer & { joinMs: number }> {
  const started = performance.now();
  const ws = new WebSocket(`ws://127.0.0.1:${port}/rtc?access_token=${token}&format=protobuf`, { perMessageDeflate: false });
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
      const ciphertext = aesGcmSealSync(keys.c2s, recordNonce(0, seq), recordAad(keys.sessionId, "c2s", 0, seq), bytes);
      ws.send(encodeSecureRequest(0, seq, ciphertext));
    } else ws.send(bytes);
  };
  const sendRequest = (request: SignalRequest) => sendBytes(toBinary(SignalRequestSchema, request));
  const encoded = new Map<string, { payload: string; bytes: Uint8Array }>();
  const plaintextOf = (frame: Buffer): Uint8Array => {
    if (!keys) return frame;
    const r = parseSecureResponse(frame);
    if (!r) throw new Error("expected a record");
    if (r.seq !== keys.recvSeq) throw new Error("record out of order");
    keys.recvSeq++;
    return aesGcmOpenSync(keys.s2c, recordNonce(r.epoch, r.seq), recordAad(keys.sessionId, "s2c", r.epoch, r.seq), r.ciphertext);
  };

  // The server may send `join` in the same packet as the upgrade answer: listen before 'open'.
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const first = new Promise<SignalResponse>((resolve, reject) => {
    const pending: Buffer[] = [];
    let handshaking = pq;
    ws.on("message", (data: Buffer) => {
      if (handshaking) {
        pending.push(data);
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
    if (!pq) return;
    void (async () => {
      await opened;
      const kp = await generateKeyPair("ML-KEM-768", nodePrimitives);
      const clientNonce = nodePrimitives.randomBytes(32);
      ws.send(toBinary(SignalRequestSchema, create(SignalRequestSchema, {
        message: { case: "pqHandshake", value: { algorithm: "ML-KEM-768", clientPublicKey: kp.publicKey, sessionId: "", clientNonce } },
      })));
      while (pending.length === 0) await new Promise((r) => setTimeout(r, 1));
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
      keys = { sessionId: h.sessionId, c2s: k.c2s, s2c: k.s2c, sendSeq: 0n, recvSeq: 0n };
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
