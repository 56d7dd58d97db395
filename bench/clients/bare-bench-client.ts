// Client of the bare relay (bench/targets/bare-relay.ts): `len(dst) ‖ dst ‖ kind ‖ payload` binary frames.
import WebSocket from "ws";
import type { BenchPeer, MessageHandler } from "./bench-peer.js";
import { turnBatchedSender } from "./turn-batch.js";

export async function connectBare(port: number, id: string): Promise<BenchPeer & { joinMs: number }> {
  const started = performance.now();
  const ws = new WebSocket(`ws://127.0.0.1:${port}/?id=${encodeURIComponent(id)}`, { perMessageDeflate: false });
  const send = turnBatchedSender(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let onMessage: MessageHandler = () => {};
  ws.on("message", (data: Buffer) => {
    const len = data[0] ?? 0;
    const from = data.subarray(1, 1 + len).toString();
    const kind = data[1 + len] === 1 ? "offer" : "candidate";
    onMessage(from, kind, data.subarray(2 + len).toString());
  });
  return {
    joinMs: performance.now() - started,
    send(to, kind, payload) {
      const dst = Buffer.from(to);
      send(Buffer.concat([Buffer.of(dst.length), dst, Buffer.of(kind === "offer" ? 1 : 2), Buffer.from(payload)]));
    },
    onMessage(handler) {
      onMessage = handler;
    },
    close() {
      ws.terminate();
    },
  };
}
