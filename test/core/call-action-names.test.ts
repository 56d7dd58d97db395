// In JSON and flat frames a call's `action` is the enum's full name (or its number), as protobuf JSON has
// it. A short name ("INVITE") is not one: the refusal says which names are, not that the field is missing.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { makeToken } from "../helpers/tokens.js";

let srv: TestServer;
before(async () => {
  srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
});
after(() => srv.close());

/** A flat-JSON participant: its frames as parsed objects, in order. */
async function flatClient(identity: string): Promise<{ ws: WebSocket; next: (type: string) => Promise<Record<string, unknown>> }> {
  const ws = new WebSocket(`${srv.wsUrl}/rtc?access_token=${await makeToken({ identity, room: "call-names" })}`);
  const frames: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  ws.on("message", (data) => {
    frames.push(JSON.parse(String(data)) as Record<string, unknown>);
    for (const w of waiters.splice(0)) w();
  });
  const next = async (type: string): Promise<Record<string, unknown>> => {
    for (;;) {
      const i = frames.findIndex((f) => f.type === type);
      if (i >= 0) return frames.splice(i, 1)[0] as Record<string, unknown>;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type} frame`)), 5000);
        waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  };
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  ws.send(JSON.stringify({ type: "ping", timestamp: 1 }));
  await next("join");
  return { ws, next };
}

test("a short action name is refused with the names that are accepted; the full name is delivered", async () => {
  const alice = await flatClient("names-alice");
  const bob = await flatClient("names-bob");
  alice.ws.send(JSON.stringify({ type: "call", action: "INVITE", target: "names-bob", call_id: "c1", request_id: 7 }));
  const refused = await alice.next("error");
  assert.equal(refused.reason, "malformed_message");
  assert.equal(refused.request_id, 7);
  assert.match(String(refused.message), /call action is missing or unknown: CALL_ACTION_INVITE, CALL_ACTION_RINGING, .*CALL_ACTION_CONNECTED, or its number/);

  alice.ws.send(JSON.stringify({ type: "call", action: "CALL_ACTION_INVITE", target: "names-bob", call_id: "c1" }));
  const invite = await bob.next("call");
  assert.deepEqual([invite.action, invite.from, invite.call_id], ["CALL_ACTION_INVITE", "names-alice", "c1"]);
  alice.ws.close();
  bob.ws.close();
});
