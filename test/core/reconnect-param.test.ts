import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code } from "@connectrpc/connect";
import { openChannel, UpgradeRefused } from "../helpers/channels.js";
import { TestClient } from "../helpers/signal-client.js";
import { makeToken } from "../helpers/tokens.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { parseConnectParams, queryParams } from "../../src/session/connect-params.js";

/** `reconnect` (and gRPC's `volly-reconnect`) is validated like the other connect parameters. */
describe("the reconnect connect parameter", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
  });
  after(() => srv.close());

  const fromQuery = (query: string) => parseConnectParams(queryParams(new URLSearchParams(query)), undefined);

  test("1 and true resume; 0, false and empty do not; anything else is bad_query", () => {
    for (const value of ["1", "true"]) assert.equal(fromQuery(`reconnect=${value}&sid=PA_abc`).reconnect, true, value);
    for (const value of ["0", "false", ""]) assert.equal(fromQuery(`reconnect=${value}&sid=PA_abc`).reconnect, false, value);
    for (const value of ["2", "yes", "TRUE", "-1", " 1", "1 "]) {
      assert.throws(() => fromQuery(`reconnect=${encodeURIComponent(value)}&sid=PA_abc`), /^ConnectError: \[invalid_argument\] invalid query: reconnect must be 1, 0, true or false$/, value);
    }
    const metadata: Record<string, string> = { "volly-reconnect": "2", "volly-sid": "PA_abc" };
    assert.throws(
      () => parseConnectParams((name) => metadata[name === "reconnect" ? "volly-reconnect" : name === "sid" ? "volly-sid" : name], undefined, "metadata"),
      /invalid connect metadata: volly-reconnect must be 1, 0, true or false$/,
    );
  });

  test("reconnect=2 with a sid is refused before the upgrade, not taken as a fresh join", async () => {
    const token = await makeToken({ identity: "rc-two", room: "rc-room" });
    const query = `access_token=${token}&reconnect=2&sid=PA_x`;
    const res = await fetch(`${srv.httpUrl}/rtc/validate?${query}`);
    assert.equal(res.status, 400);
    assert.equal(await res.text(), "invalid query: reconnect must be 1, 0, true or false");
    await assert.rejects(
      openChannel("ws-flat", srv.port, { token, query: { reconnect: "2", sid: "PA_x" } }),
      (e: unknown) => e instanceof UpgradeRefused && e.status === 400 && e.body === "invalid query: reconnect must be 1, 0, true or false",
    );
  });

  test("volly-reconnect: 2 over gRPC and Connect is refused as malformed metadata", async () => {
    const token = await makeToken({ identity: "rc-meta", room: "rc-room" });
    for (const kind of ["grpc-js", "connect"] as const) {
      const ch = await openChannel(kind, srv.port, { token, headers: { "volly-reconnect": "2", "volly-sid": "PA_x" } });
      assert.deepEqual(await ch.closed, { code: 4000 + Code.InvalidArgument, reason: "invalid connect metadata: volly-reconnect must be 1, 0, true or false" }, kind);
    }
  });

  test("reconnect=true resumes (an unknown sid is resume_unknown) and reconnect=false joins afresh", async () => {
    const token = await makeToken({ identity: "rc-true", room: "rc-room" });
    const ch = await openChannel("ws-flat", srv.port, { token, query: { reconnect: "true", sid: "PA_nobody" } });
    assert.equal((await ch.closed).code, 4000 + Code.NotFound);
    const fresh = await TestClient.connect({ kind: "ws-flat", port: srv.port, identity: "rc-false", room: "rc-room", pq: false, query: { reconnect: "false", sid: "PA_x" } });
    assert.notEqual(fresh.join?.participant?.sid, "PA_x");
    await fresh.leave();
  });
});
