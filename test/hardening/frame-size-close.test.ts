import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TestClient } from "../helpers/signal-client.js";
import { limitCount, startTestServer, type TestServer } from "../helpers/test-server.js";

/** One masked client frame (RFC 6455 §5.2), for payloads under 64 KiB. */
function clientFrame(fin: boolean, opcode: number, payload: Uint8Array): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const head = payload.length < 126
    ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | payload.length])
    : Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, mask, Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] ?? 0)))]);
}

describe("frames over 4x VOLLY_MAX_FRAME_BYTES: closed with 1009, saying why, and counted", () => {
  let srv: TestServer;
  before(async () => {
    // ws's hard cap (maxPayload) is 4 x 4096 = 16 KiB.
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_MAX_FRAME_BYTES: "4096" });
  });
  after(() => srv.close());

  test("one frame over the hard cap", async () => {
    const c = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "huge", room: "frames", pq: false });
    const before = await limitCount(srv, "frame_size");
    c.channel.sendRaw(new Uint8Array(20_000));
    assert.deepEqual(await c.channel.closed, { code: 1009, reason: "frame larger than 4096 bytes" });
    assert.equal(await limitCount(srv, "frame_size"), before + 1);
  });

  test("a message over the hard cap in fragments that are each small", async () => {
    const c = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "fragments", room: "frames", pq: false });
    const before = await limitCount(srv, "frame_size");
    const parts = [clientFrame(false, 2, new Uint8Array(1000))];
    for (let i = 0; i < 30; i++) parts.push(clientFrame(false, 0, new Uint8Array(1000)));
    parts.push(clientFrame(true, 0, new Uint8Array(1000)));
    c.channel.writeRaw?.(Buffer.concat(parts));
    assert.deepEqual(await c.channel.closed, { code: 1009, reason: "frame larger than 4096 bytes" });
    assert.equal(await limitCount(srv, "frame_size"), before + 1);
  });

  test("a message in more than 16,384 fragments: closed with 1008, saying why, and counted", async () => {
    const c = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "confetti", room: "frames", pq: false });
    const parts = [clientFrame(false, 2, new Uint8Array(0))];
    for (let i = 0; i < 16_385; i++) parts.push(clientFrame(false, 0, new Uint8Array(0)));
    c.channel.writeRaw?.(Buffer.concat(parts));
    assert.deepEqual(await c.channel.closed, { code: 1008, reason: "message in more than 16384 fragments" });
    assert.equal(await limitCount(srv, "fragments"), 1);
  });

  test("a client that closes with 1009 itself is not counted as an oversized frame", async () => {
    const c = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "closer", room: "frames", pq: false });
    const before = await limitCount(srv, "frame_size");
    c.channel.writeRaw?.(clientFrame(true, 8, Buffer.from([0x03, 0xf1])));
    assert.equal((await c.channel.closed).code, 1009);
    assert.equal(await limitCount(srv, "frame_size"), before);
  });
});
