// A draining node tells each client `leave{SERVER_SHUTDOWN}` and closes its WebSocket, then stops. If it
// destroys a socket before the client's close frame (or a message the client sent meanwhile) has come back,
// whatever then arrives is answered with a TCP reset. A layer-7 proxy that is told of a reset by the server
// aborts its client's side too, and the client loses the `leave` still in the proxy's buffers: it sees a
// dropped connection (1006) instead of a shutdown. The node must wait for the close handshakes (bounded).
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { DisconnectReason } from "../../gen/volly/signaling/v1/models_pb.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

/** Each direction is relayed `delayMs` late; a reset from the server resets the client, as an L7 proxy does. */
function delayingProxy(target: number, delayMs: number): { server: net.Server; resets: () => number } {
  let resets = 0;
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ port: target, host: "127.0.0.1", allowHalfOpen: true });
    const later = (f: () => void) => setTimeout(f, delayMs);
    client.on("data", (d) => later(() => upstream.writable && upstream.write(d)));
    upstream.on("data", (d) => later(() => client.writable && client.write(d)));
    client.on("end", () => later(() => upstream.end()));
    upstream.on("end", () => later(() => client.end()));
    upstream.on("error", () => {
      resets++;
      if (!client.destroyed) client.resetAndDestroy();
    });
    client.on("error", () => upstream.destroy());
    client.on("close", () => later(() => upstream.destroy()));
  });
  return { server, resets: () => resets };
}

describe("a draining node completes its clients' close handshakes", () => {
  let srv: TestServer;
  let proxy: ReturnType<typeof delayingProxy>;
  let proxyPort = 0;

  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
    proxy = delayingProxy(srv.port, 150);
    await new Promise<void>((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
    proxyPort = (proxy.server.address() as net.AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => proxy.server.close(() => resolve())));

  test("clients behind a slow proxy, still sending, get leave{SERVER_SHUTDOWN} and a clean close, and the node is never reset", async () => {
    const clients = await Promise.all(
      ["ana", "ben", "cid"].map((identity) => TestClient.connect({ kind: "ws-protobuf", port: proxyPort, identity, room: "drain-handshake", pq: false })),
    );
    // Each keeps sending until its connection ends, so requests are on their way when the node closes.
    const sending = clients.map((c) => setInterval(() => c.send({ case: "ping", value: { timestamp: BigInt(Date.now()) } }), 10));
    try {
      const closing = srv.close();
      const ends = await Promise.all(clients.map(async (c) => ({ leave: await c.waitFor("leave", () => true, 5_000), closed: await c.channel.closed })));
      await closing;
      for (const { leave, closed } of ends) {
        assert.equal(leave.reason, DisconnectReason.SERVER_SHUTDOWN);
        assert.equal(closed.code, 1001, "a clean close, not a dropped connection");
      }
      assert.equal(proxy.resets(), 0, "the node reset no connection");
    } finally {
      for (const t of sending) clearInterval(t);
    }
  });
});
