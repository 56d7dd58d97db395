// The ceiling: a bare `ws` relay with no auth, no rooms, no crypto. A client connects with `?id=<id>`;
// each binary frame is `len(dst) ‖ dst ‖ payload` and is forwarded as `len(src) ‖ src ‖ payload`.
// It writes as Volly's WebSocket transport does (src/rtc/ws-transport.ts): a turn's first frame to a socket at
// once, the rest corked until the turn ends, so a burst is one system call. Without that, the "ceiling" paid a
// write per frame that Volly does not, and Volly could seem faster than it (a probe's finding, 25th pass).
import type { Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";

interface Peer {
  readonly ws: WebSocket;
  readonly socket: Socket;
  /** Frames sent to this peer in the current turn. */
  turn: number;
}

const port = Number(process.argv[2] ?? 0);
const peers = new Map<string, Peer>();
const wss = new WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate: false, maxPayload: 1 << 20 });

function send(peer: Peer, frame: Buffer): void {
  if (peer.turn === 0) {
    setImmediate(() => {
      if (peer.turn > 1) peer.socket.uncork();
      peer.turn = 0;
    });
  } else if (peer.turn === 1) peer.socket.cork();
  peer.turn++;
  peer.ws.send(frame);
}

wss.on("connection", (ws, req) => {
  const id = new URL(req.url ?? "/", "http://x").searchParams.get("id") ?? "";
  const idBytes = Buffer.from(id);
  const me: Peer = { ws, socket: req.socket, turn: 0 };
  peers.set(id, me);
  ws.on("message", (data: Buffer) => {
    const len = data[0] ?? 0;
    const dst = data.subarray(1, 1 + len).toString();
    const target = peers.get(dst);
    if (!target) return;
    send(target, Buffer.concat([Buffer.of(idBytes.length), idBytes, data.subarray(1 + len)]));
  });
  ws.on("close", () => {
    if (peers.get(id) === me) peers.delete(id);
  });
});
wss.on("listening", () => {
  const address = wss.address();
  console.log(`ready ${address !== null && typeof address === "object" ? address.port : port}`);
});

// A profiled run (BENCH_NODE_FLAGS="--cpu-prof ...") writes its profile only on a normal exit: SIGTERM must be one.
process.on("SIGTERM", () => process.exit(0));
