// Client of the PeerJS server (`peer` package): `ws://host/peerjs?key=peerjs&id=..&token=..`, JSON messages
// {type: OFFER|CANDIDATE, dst, payload}; the server adds `src` and forwards; it greets with {type: OPEN}.
import WebSocket from "ws";
import type { BenchPeer, MessageHandler } from "./bench-peer.js";
import { turnBatchedSender } from "./turn-batch.js";

export async function connectPeerJs(port: number, id: string): Promise<BenchPeer & { joinMs: number }> {
  const started = performance.now();
  const ws = new WebSocket(`ws://127.0.0.1:${port}/peerjs?key=peerjs&id=${encodeURIComponent(id)}&token=t${id}`, { perMessageDeflate: false });
  const send = turnBatchedSender(ws);
  let onMessage: MessageHandler = () => {};
  const encoded = new Map<string, { payload: string; text: string }>();
  await new Promise<void>((resolve, reject) => {
    ws.once("error", reject);
    ws.on("message", (data: Buffer) => {
      const m = JSON.parse(data.toString()) as { type: string; src?: string; payload?: { sdp?: string; candidate?: string } };
      if (m.type === "OPEN") return resolve();
      if (m.type === "OFFER") onMessage(m.src ?? "", "offer", m.payload?.sdp ?? "");
      else if (m.type === "CANDIDATE") onMessage(m.src ?? "", "candidate", m.payload?.candidate ?? "");
      else if (m.type === "ERROR" || m.type === "ID-TAKEN" || m.type === "INVALID-KEY") reject(new Error(m.type));
    });
  });
  return {
    joinMs: performance.now() - started,
    send(to, kind, payload) {
      // Encoded once per (kind, target, payload), as for the other clients: the generator should spend its
      // core on moving messages, not on re-encoding identical ones.
      const key = `${kind}|${to}`;
      let cached = encoded.get(key);
      if (cached?.payload !== payload) {
        cached = {
          payload,
          text: JSON.stringify(kind === "offer"
            ? { type: "OFFER", dst: to, payload: { sdp: payload, type: "media", connectionId: "mc_1" } }
            : { type: "CANDIDATE", dst: to, payload: { candidate: payload, type: "media", connectionId: "mc_1" } }),
        };
        encoded.set(key, cached);
      }
      send(cached.text);
    },
    onMessage(handler) {
      onMessage = handler;
    },
    close() {
      ws.terminate();
    },
  };
}
