// A load-generator client for Volly: binary protobuf frames over `/rtc`, and when PQ is on the handshake
// (way b, ML-KEM-768) plus a synchronous node:crypto record layer, so the generator spends as little CPU as
// it can on crypto the server also does.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import WebSocket from "ws";
import { SignalRequestSchema, SignalResponseSchema, type SignalRequest, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { decapsulate, generateKeyPair } from "../../src/protocol/pq/kem.js";
import { deriveHandshakeKeys, finishedMac, recordAad, recordNonce, transcriptHash } from "../../src/protocol/pq/key-schedule.js";
import { aesGcmOpenSync, aesGcmSealSync, nodePrimitives } from "../../src/pq/node-primitives.js";
import type { BenchPeer, MessageHandler } from "./bench-peer.js";

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

  const sendRequest = (request: SignalRequest) => {
    let bytes = toBinary(SignalRequestSchema, request);
    if (keys) {
      const seq = keys.sendSeq++;
      const ciphertext = aesGcmSealSync(keys.c2s, recordNonce(0, seq), recordAad(keys.sessionId, "c2s", 0, seq), bytes);
      bytes = toBinary(SignalRequestSchema, create(SignalRequestSchema, { message: { case: "secure", value: { epoch: 0, seq, ciphertext } } }));
    }
    ws.send(bytes);
  };
  const unwrap = (frame: Buffer): SignalResponse => {
    const outer = fromBinary(SignalResponseSchema, frame);
    if (!keys || outer.message.case !== "secure") return outer;
    const r = outer.message.value;
    if (r.seq !== keys.recvSeq) throw new Error("record out of order");
    keys.recvSeq++;
    return fromBinary(SignalResponseSchema, aesGcmOpenSync(keys.s2c, recordNonce(r.epoch, r.seq), recordAad(keys.sessionId, "s2c", r.epoch, r.seq), r.ciphertext));
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
      let inner: SignalResponse;
      try {
        inner = unwrap(data);
      } catch (e) {
        reject(e);
        return;
      }
      if (inner.message.case === "join") return resolve(inner);
      if (inner.messageId > 0n) {
        lastId = inner.messageId;
        if (++sinceAck >= 32) {
          sinceAck = 0;
          sendRequest(create(SignalRequestSchema, { message: { case: "ack", value: { lastMessageId: lastId } } }));
        }
      }
      const m = inner.message;
      if (m.case === "offer") onMessage(m.value.from, "offer", m.value.sdp);
      else if (m.case === "trickle") onMessage(m.value.from, "candidate", m.value.candidate);
      else if (m.case === "error") reject(new Error(`${m.value.code}: ${m.value.message}`));
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
      sendRequest(create(SignalRequestSchema, {
        message: kind === "offer"
          ? { case: "offer", value: { sdp: payload, target: to } }
          : { case: "trickle", value: { candidate: payload, target: to } },
      }));
    },
    onMessage(handler) {
      onMessage = handler;
    },
    close() {
      ws.terminate();
    },
  };
}
