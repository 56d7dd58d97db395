// Admitting a signal connection is one piece of code for both transports (src/session/admit-connection.ts):
// a refusal is the same catalogue error, logged the same way, whether it came over the WebSocket upgrade or
// a gRPC stream; only the way it is answered differs.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startCaptured, capturedKeys, type CapturedServer } from "../helpers/captured-server.js";
import { openChannel, UpgradeRefused, type Channel } from "../helpers/channels.js";
import { makeToken } from "../helpers/tokens.js";

describe("connection admission", () => {
  let node: CapturedServer;
  before(async () => {
    node = await startCaptured("info", { VOLLY_PQ_ENABLED: "false", VOLLY_MAX_CONNECTIONS_PER_IP: "2" });
  });
  after(() => node.server.close(1000));

  const refusals = (): Array<Record<string, unknown>> =>
    node.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "connection refused");

  test("over the per-IP limit: the WebSocket gets 429 and gRPC resource_exhausted, both logged as too_many_connections", async () => {
    // Two, not one: HTTP connections (a refused upgrade's until it closes, the gRPC one) are counted apart,
    // under the same per-IP limit, and the gRPC stream must reach the signal limit.
    const holders: Channel[] = [];
    for (const identity of ["holder-1", "holder-2"]) {
      holders.push(await openChannel("ws-protobuf", node.port, { token: await makeToken({ ...capturedKeys, identity, room: "admission" }) }));
    }
    try {
      const other = await makeToken({ ...capturedKeys, identity: "other", room: "admission" });
      await assert.rejects(openChannel("ws-protobuf", node.port, { token: other }),
        (e: unknown) => e instanceof UpgradeRefused && e.status === 429 && e.body === "too many connections");
      const grpc = await openChannel("grpc-js", node.port, { token: other });
      assert.deepEqual(await grpc.closed, { code: 4008, reason: "too many connections" });
      const logged = refusals();
      assert.deepEqual(logged.map((l) => [l.error, l.ip]), [["too_many_connections", "127.0.0.1"], ["too_many_connections", "127.0.0.1"]]);
    } finally {
      for (const h of holders) h.kill();
    }
  });
});
