import assert from "node:assert/strict";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { after, before, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import WebSocket, { WebSocketServer } from "ws";
import { SignalResponseSchema } from "../../gen/volly/signaling/v1/signal_pb.js";
import { SignalWebSocket } from "../../src/rtc/signal-web-socket.js";
import { allocateWsFrame } from "../../src/rtc/ws-frame.js";
import { WsTransport } from "../../src/rtc/ws-transport.js";

// Frames the transport lays out itself (header and payload in one buffer, written straight to the socket)
// must reach a real ws client as ws's own frames do, in order with ws's, and never after a close frame.

let wss: WebSocketServer;
let port: number;
const slots = { acquire: () => true, release: () => {} };

before(async () => {
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false, autoPong: false, WebSocket: SignalWebSocket });
  await once(wss, "listening");
  port = (wss.address() as AddressInfo).port;
});
after(() => wss.close());

/** A connected pair: the server side as a WsTransport, the client a plain ws client collecting frames. */
async function connect() {
  const accepted = once(wss, "connection") as Promise<[SignalWebSocket, { socket: Duplex }]>;
  const client = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  const frames: Buffer[] = [];
  client.on("message", (data: Buffer) => frames.push(data));
  const [ws, req] = await accepted;
  await once(client, "open");
  const transport = new WsTransport(ws, req.socket, "127.0.0.1", "protobuf", 1 << 20, slots, new Set());
  return { client, frames, transport, ws, socket: req.socket };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), "timed out");
}

function filled(size: number, seed: number, into?: Uint8Array): Uint8Array {
  const out = into ?? new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

test("laid-out frames of every header length arrive whole, in order with ws's own frames", async () => {
  const { client, frames, transport } = await connect();
  // 2-byte header up to 125, 4-byte up to 65535, 10-byte beyond.
  const sizes = [0, 1, 125, 126, 3000, 65535, 65536, 200_000];
  const expected: Uint8Array[] = [];
  sizes.forEach((size, i) => {
    // Within one turn (the socket corked after the first) and mixed with frames ws frames itself.
    transport.sendEncoded(filled(size, i, allocateWsFrame(size)));
    expected.push(filled(size, i));
    const other = filled(size % 1000, 100 + i);
    transport.sendEncoded(other);
    expected.push(other);
  });
  const ping = create(SignalResponseSchema, { requestId: 7 });
  transport.send(ping);
  await until(() => frames.length === expected.length + 1);
  frames.slice(0, expected.length).forEach((f, i) => assert.deepEqual(new Uint8Array(f), expected[i], `frame ${i}`));
  // And in a later turn, one at a time.
  await new Promise((r) => setImmediate(r));
  transport.sendEncoded(filled(300, 9, allocateWsFrame(300)));
  await until(() => frames.length === expected.length + 2);
  assert.deepEqual(new Uint8Array(frames.at(-1) as Buffer), filled(300, 9));
  client.close();
});

test("a payload that is not the last one laid out goes through ws, with the same bytes", async () => {
  const { client, frames, transport } = await connect();
  const first = filled(50, 1, allocateWsFrame(50));
  const second = filled(60, 2, allocateWsFrame(60));
  transport.sendEncoded(first); // no longer the last laid out: framed by ws
  transport.sendEncoded(second);
  transport.sendEncoded(second); // already sent once: ws frames it again
  await until(() => frames.length === 3);
  assert.deepEqual(frames.map((f) => new Uint8Array(f)), [filled(50, 1), filled(60, 2), filled(60, 2)]);
  client.close();
});

test("once a close frame has gone, a laid-out frame is not written", async () => {
  const { transport, ws, socket } = await connect();
  // Closed by ws itself (as on a client's close frame), not through the transport, which would stop first.
  ws.close(1000, "bye");
  assert.equal(ws.readyState, WebSocket.CLOSING);
  const written = (socket as unknown as { bytesWritten: number }).bytesWritten;
  const pending = (socket as unknown as { writableLength: number }).writableLength;
  transport.sendEncoded(filled(40, 3, allocateWsFrame(40)));
  assert.equal((socket as unknown as { bytesWritten: number }).bytesWritten + (socket as unknown as { writableLength: number }).writableLength, written + pending);
  await once(ws, "close");
});
