import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { joinFlat } from "../helpers/flat-json-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// A frame that does not decode is answered in its turn: its `error` comes after the answers to the requests
// sent before it, not ahead of them (it used to be answered at once, overtaking requests still queued).

describe("answers come in request order, a frame that does not decode included", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
  });
  after(() => srv.close());

  test("flat JSON: requests 1-20, an undecodable frame (21), then 22 are answered 1..22", async () => {
    const { ws, messages } = await joinFlat(srv, "flat", "order-flat");
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
