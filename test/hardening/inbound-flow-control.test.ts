import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { deletePrefix, REDIS_URL, redisSkip, uniquePrefix } from "../helpers/redis.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// With Redis every `data` request waits on a store round trip, so a burst queues up behind the first one. A
// burst within the rate limit must wait (the transport stops reading: TCP pushes back), not close the
// connection for a full queue.
const te = new TextEncoder();

describe("a burst of requests that wait on the store is flow-controlled, not refused", { skip: await redisSkip() }, () => {
  const prefix = uniquePrefix("flow");
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({
      REDIS_URL, REDIS_PREFIX: prefix,
      VOLLY_MAX_MESSAGES_PER_SECOND: "100000", VOLLY_MESSAGE_BURST: "100000",
    });
  });
  after(async () => {
    await srv.close();
    await deletePrefix(REDIS_URL, prefix);
  });

  for (const kind of ["ws-protobuf", "grpc-js"] as const) {
    test(`${kind}: 2,000 data requests sent at once are all answered, and the connection stays`, async () => {
      const a = await TestClient.connect({ kind, port: srv.port, identity: `flow-a-${kind}`, room: `flow-${kind}`, pq: "ML-KEM-768" });
      const b = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: `flow-b-${kind}`, room: `flow-${kind}`, pq: "ML-KEM-768" });
      await a.waitFor("participantUpdate", (u) => u.participants.some((p) => p.identity === `flow-b-${kind}`), 10_000);
      const n = 2000;
      for (let i = 0; i < n; i++) a.send({ case: "data", value: { target: `flow-b-${kind}`, payload: te.encode(`m${i}`), id: `m${i}` } });
      let acks = 0;
      while (acks < n) {
        const r = await a.next(20_000);
        assert.notEqual(r.message.case, "error", `request ${r.requestId} refused: ${JSON.stringify(r.message.value)}`);
        assert.notEqual(r.message.case, "leave", "the connection was closed");
        if (r.message.case === "dataAck") acks++;
      }
      let received = 0;
      while (received < n) if ((await b.next(20_000)).message.case === "data") received++;
      assert.equal(received, n);
      await a.leave();
      await b.leave();
    });
  }
});
