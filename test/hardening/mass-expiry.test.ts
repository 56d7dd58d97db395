import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const LEAVERS = 100;

// A resume window that runs out for many participants at once (a mass drop in a big room) ends them one by
// one, each told to the whole room. The node must keep reading its sockets meanwhile: a client that speaks
// while the departures are being told is answered among them, not after the last.
describe("a mass expiry of away participants", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_RESUME_WINDOW: "1", VOLLY_MAX_PARTICIPANTS: "500" });
  });
  after(() => srv.close());

  test("lets the node answer a client between the departures it tells", async () => {
    const observer = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "observer", room: "expiry", pq: false });
    const leavers = [];
    for (let i = 0; i < LEAVERS; i++) leavers.push(await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: `leaver-${i}`, room: "expiry", pq: false }));
    const joined = new Set<string>();
    while (joined.size < LEAVERS) {
      const u = await observer.waitFor("participantUpdate");
      for (const p of u.participants) if (p.state === ParticipantState.JOINED) joined.add(p.identity);
    }
    for (const l of leavers) l.kill();

    // Everything the observer hears from the first departure on, in order.
    const heard: string[] = [];
    let departures = 0;
    let pingId: number | undefined;
    while (departures < LEAVERS) {
      const r = await observer.next(10_000);
      if (r.message.case === "pong" && r.requestId === pingId) heard.push("pong");
      if (r.message.case !== "participantUpdate") continue;
      for (const p of r.message.value.participants) {
        if (p.state !== ParticipantState.DISCONNECTED) continue;
        departures++;
        heard.push("left");
        // Spoken at the first departure heard, while the rest are still being told.
        pingId ??= observer.send({ case: "ping", value: { timestamp: 1n } });
      }
    }
    if (!heard.includes("pong")) await observer.waitFor("pong", (_p, r) => r.requestId === pingId);
    const at = heard.indexOf("pong");
    assert.ok(at >= 0 && at < heard.length, `the pong came after all ${LEAVERS} departures`);
    await observer.leave();
  });
});
