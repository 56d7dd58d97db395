import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { joinFlat, type Flat } from "../helpers/flat-json-client.js";
import { limitCount, startTestServer, type TestServer } from "../helpers/test-server.js";

// A flood written at once fills the session's inbound queue (1,024 requests) before the first of them is
// processed. The rate limit's documented rule must still be what ends it: every refusal names its request,
// and the connection closes after more than `message_burst` of them. Only when the queued requests are all
// within the rate does the queue's end close the connection, in its turn, after they are answered.

interface Flood {
  messages: Flat[];
  close: { code: number; reason: string };
}

async function flood(srv: TestServer, identity: string, n: number): Promise<Flood> {
  const { ws, messages, closed } = await joinFlat(srv, identity, `flood-${identity}`);
  // Small frames, so that one socket read holds more of them than the queue.
  for (let id = 1; id <= n; id++) ws.send(`{"type":"ping","request_id":${id}}`);
  const timeout = setTimeout(() => ws.terminate(), 10_000);
  const close = await closed;
  clearTimeout(timeout);
  return { messages, close };
}

describe("a flood over the inbound queue", () => {
  describe("default rate limit (burst 400)", () => {
    let srv: TestServer;
    before(async () => {
      srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
    });
    after(() => srv.close());

    test("3,000 pings at once: more than message_burst refusals, each naming its request, then 4008", async () => {
      const { messages, close } = await flood(srv, "rate", 3000);
      assert.equal(close.code, 4008);
      const errors = messages.filter((m) => m.type === "error");
      assert.ok(errors.length > srv.config.limits.messageBurst, `only ${errors.length} refusals before the close`);
      assert.ok(errors.every((e) => e.reason === "rate_limited" && (e.request_id ?? 0) > 0), "a refusal without its request_id");
      assert.equal(messages.at(-1)?.type, "leave");
      assert.equal(messages.at(-1)?.reason, "DISCONNECT_REASON_LIMIT_EXCEEDED");
      assert.equal(await limitCount(srv, "inbound_queue"), 0);
      // Answers (pongs and refusals) in request order.
      const ids = messages.filter((m) => m.type !== "leave").map((m) => m.request_id ?? 0);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    });
  });

  describe("a rate limit the queue cannot reach", () => {
    let srv: TestServer;
    before(async () => {
      srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_MAX_MESSAGES_PER_SECOND: "1000000", VOLLY_MESSAGE_BURST: "1000000" });
    });
    after(() => srv.close());

    test("3,000 pings at once: the queued ones are answered in order, then rate_limited without request_id and 4008", async () => {
      const { messages, close } = await flood(srv, "queue", 3000);
      assert.equal(close.code, 4008);
      const [error, leave] = messages.slice(-2);
      assert.equal(error?.type, "error");
      assert.equal(error?.reason, "rate_limited");
      assert.equal(error?.request_id ?? 0, 0, "the frame past the queue was never read");
      assert.equal(leave?.reason, "DISCONNECT_REASON_LIMIT_EXCEEDED");
      const pongs = messages.slice(0, -2);
      assert.ok(pongs.every((m) => m.type === "pong"));
      // Everything taken into the queue was answered before the close, in order; nothing past it was read.
      assert.ok(pongs.length > 1024 && pongs.length < 3000, `${pongs.length} answered`);
      assert.deepEqual(pongs.map((m) => m.request_id), Array.from({ length: pongs.length }, (_, i) => i + 1));
      assert.equal(await limitCount(srv, "inbound_queue"), 1);
    });
  });
});
