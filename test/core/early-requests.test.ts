// Without PQ the server sends `join` at once, and a client may send before it arrives: those requests are taken
// after the join, in order, on every backend (docs/protocol.md §3). With Redis the join takes several round
// trips, and a request arriving meanwhile used to be refused as `unexpected_message`, which ended the
// connection (JOIN_FAILURE) and a resume with it; the memory store joined within the tick and never showed it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { SignalRequestSchema, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { openChannel, type Channel, type ChannelKind } from "../helpers/channels.js";
import { deletePrefix, REDIS_URL, redisSkip, uniquePrefix } from "../helpers/redis.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { makeToken } from "../helpers/tokens.js";

const redisSkipped = await redisSkip();

/** Responses until `count` arrived or the connection went quiet for a second. */
async function collect(c: Channel, count: number): Promise<SignalResponse[]> {
  const out: SignalResponse[] = [];
  while (out.length < count) {
    try {
      out.push(await c.responses.take(3000, "response"));
    } catch {
      break;
    }
  }
  return out;
}

for (const backend of ["memory", "redis"] as const) {
  describe(`requests sent before join arrives (${backend}, PQ off)`, { skip: backend === "redis" ? redisSkipped : false }, () => {
    const prefix = uniquePrefix("early-requests");
    let srv: TestServer;
    before(async () => {
      srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", ...(backend === "redis" ? { REDIS_URL, REDIS_PREFIX: prefix } : {}) });
    });
    after(async () => {
      await srv.close();
      if (backend === "redis") await deletePrefix(REDIS_URL, prefix);
    });

    for (const kind of ["ws-flat", "ws-protobuf", "grpc-js"] as const satisfies readonly ChannelKind[]) {
      test(`${kind}: a ping and a data message sent on open are answered after the join, in order`, async () => {
        const room = `early-${kind}`;
        const c = await openChannel(kind, srv.port, { token: await makeToken({ identity: `early-${kind}`, room }) });
        c.send(create(SignalRequestSchema, { requestId: 1, message: { case: "ping", value: { timestamp: 7n } } }));
        c.send(create(SignalRequestSchema, { requestId: 2, message: { case: "data", value: { payload: new Uint8Array([1]), id: "d1" } } }));
        const got = await collect(c, 3);
        assert.deepEqual(got.map((r) => [r.message.case, r.requestId]), [["join", 0], ["pong", 1], ["dataAck", 2]]);
        c.kill();
      });
    }
  });
}
