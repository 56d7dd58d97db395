import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { makeToken } from "../helpers/tokens.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// A frame that does not decode is answered in its turn: its `error` comes after the answers to the requests
// sent before it, not ahead of them (it used to be answered at once, overtaking requests still queued).

interface Flat {
  type: string;
  reason?: string;
  request_id?: number;
}

async function joined(srv: TestServer, identity: string): Promise<{ ws: WebSocket; messages: Flat[] }> {
  const token = await makeToken({ identity, room: `order-${identity}` });
  const ws = new WebSocket(`${srv.wsUrl}/rtc?access_token=${token}`);
  const messages: Flat[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.on("message", (data) => {
      const m = JSON.parse(String(data)) as Flat;
      if (m.type === "join") resolve();
      else messages.push(m);
    });
    ws.once("error", reject);
  });
  return { ws, messages };
}

describe("answers come in request order, a frame that does not decode included", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
  });
  after(() => srv.close());

  test("flat JSON: requests 1-20, an undecodable frame (21), then 22 are answered 1..22", async () => {
    const { ws, messages } = await joined(srv, "flat");
    const offer = (id: number) => JSON.stringify({ type: "offer", sdp: "v=0", target: "nobody", call_id: "c", request_id: id });
    for (let id = 1; id <= 20; id++) ws.send(offer(id));
    ws.send('{"type":"offer","sdp":5,"request_id":21}');
    ws.send(offer(22));
    const errors = () => messages.filter((m) => m.type === "error");
    for (let t = 0; errors().length < 22 && t < 200; t++) await new Promise((r) => setTimeout(r, 25));
    assert.deepEqual(errors().map((m) => m.request_id), Array.from({ length: 22 }, (_, i) => i + 1));
    assert.equal(errors()[20]?.reason, "malformed_message");
    assert.ok(errors().every((m, i) => i === 20 || m.reason === "target_not_found"));
    // The connection carries on after it.
    ws.send(JSON.stringify({ type: "ping", timestamp: "1", request_id: 23 }));
    for (let t = 0; !messages.some((m) => m.type === "pong") && t < 200; t++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(messages.find((m) => m.type === "pong")?.request_id, 23);
    ws.close();
  });
});
