// The ceiling: a bare `ws` relay with no auth, no rooms, no crypto. A client connects with `?id=<id>`;
// each binary frame is `len(dst) ‖ dst ‖ payload` and is forwarded as `len(src) ‖ src ‖ payload`.
import { WebSocketServer, type WebSocket } from "ws";

const port = Number(process.argv[2] ?? 0);
const peers = new Map<string, WebSocket>();
const wss = new WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate: false, maxPayload: 1 << 20 });

wss.on("connection", (ws, req) => {
  const id = new URL(req.url ?? "/", "http://x").searchParams.get("id") ?? "";
  const idBytes = Buffer.from(id);
  peers.set(id, ws);
  ws.on("message", (data: Buffer) => {
    const len = data[0] ?? 0;
    const dst = data.subarray(1, 1 + len).toString();
    const target = peers.get(dst);
    if (!target) return;
    target.send(Buffer.concat([Buffer.of(idBytes.length), idBytes, data.subarray(1 + len)]));
  });
  ws.on("close", () => {
    if (peers.get(id) === ws) peers.delete(id);
  });
});
wss.on("listening", () => {
  const address = wss.address();
  console.log(`ready ${address !== null && typeof address === "object" ? address.port : port}`);
});
