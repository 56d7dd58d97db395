// A rekey() whose answer is lost to a dropped connection is not failed for the drop: the SDK resumes, and the
// rekey runs then, as one asked for a moment later (while reconnecting) does (client-sdk.md: "while
// `reconnecting`, once reconnected"). It fails only when recovery gives up or the client disconnects (probe D, D2).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConnectError } from "../../src/client/index.js";
import { startTestServer } from "../helpers/test-server.js";
import { nextEvent, nodeClient } from "../helpers/werift-sdk.js";

/** How a promise settled: "resolved", or the rejection's text. */
function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(() => "resolved", (e: unknown) => `rejected: ${String(e)}`);
}

test("a rekey in flight when the connection drops resolves after the resume, on the resumed channel", async () => {
  const server = await startTestServer();
  const alice = await nodeClient(server.wsUrl, "rd-alice", "rekey-drop", { reconnect: { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 100, multiplier: 1, jitter: 0 } });
  try {
    await alice.client.connect();
    const sid = alice.client.sid;
    const events: string[] = [];
    alice.client.on("reconnecting", () => events.push("reconnecting"));
    alice.client.on("reconnected", ({ resumed }) => events.push(`reconnected resumed=${resumed}`));
    alice.client.on("rekeyed", ({ epoch }) => events.push(`rekeyed epoch=${epoch}`));
    const reconnected = nextEvent(alice.client, "reconnected");
    // The rekey request goes out; its answer is lost, then the socket dies.
    alice.tap.deafen();
    const rekey = outcome(alice.client.rekey());
    await new Promise((r) => setTimeout(r, 100));
    alice.tap.cut();
    assert.equal(await rekey, "resolved");
    await reconnected;
    assert.equal(alice.client.sid, sid, "the same participant, resumed");
    assert.deepEqual(events, ["reconnecting", "reconnected resumed=true", "rekeyed epoch=1"]);
    assert.equal(alice.client.getPostQuantumSession().epoch, 1, "the resumed channel was rekeyed");
    assert.equal(alice.client.state, "connected");
  } finally {
    await alice.client.disconnect();
    await server.close();
  }
});

test("a rekey in flight when the connection drops rejects with recovery's error when recovery gives up", async () => {
  const server = await startTestServer();
  const alice = await nodeClient(server.wsUrl, "rg-alice", "rekey-give-up", { reconnect: { maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 50, multiplier: 1, jitter: 0 } });
  try {
    await alice.client.connect();
    const disconnected = nextEvent(alice.client, "disconnected");
    alice.tap.deafen();
    const rekey = alice.client.rekey();
    rekey.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    alice.tap.down = true;
    alice.tap.cut();
    const [{ error }] = await disconnected;
    const rejection = await rekey.then(() => undefined, (e: unknown) => e);
    assert.ok(rejection instanceof ConnectError, String(rejection));
    assert.equal(rejection, error, "the error recovery gave up with");
    assert.equal(alice.client.state, "disconnected");
  } finally {
    await alice.client.disconnect();
    await server.close();
  }
});

test("a rekey in flight when the connection drops rejects when the client disconnects during the recovery", async () => {
  const server = await startTestServer();
  const alice = await nodeClient(server.wsUrl, "rc-alice", "rekey-close", { reconnect: { maxAttempts: 5, initialDelayMs: 2000, maxDelayMs: 2000, multiplier: 1, jitter: 0 } });
  try {
    await alice.client.connect();
    const reconnecting = nextEvent(alice.client, "reconnecting");
    alice.tap.deafen();
    const rekey = outcome(alice.client.rekey());
    await new Promise((r) => setTimeout(r, 100));
    alice.tap.cut();
    await reconnecting;
    // Recovery's first attempt is seconds away: the rekey is waiting for it.
    await new Promise((r) => setTimeout(r, 200));
    await alice.client.disconnect();
    assert.match(await rekey, /^rejected: .*disconnected/);
  } finally {
    await alice.client.disconnect();
    await server.close();
  }
});

test("a rekey in flight rejects as disconnected when the app disconnects in the same tick as the drop", async () => {
  const server = await startTestServer();
  const alice = await nodeClient(server.wsUrl, "rt-alice", "rekey-tick", { reconnect: { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 100, multiplier: 1, jitter: 0 } });
  try {
    await alice.client.connect();
    // The app reacts to the drop at once, before the channel has failed its rekey.
    alice.client.on("reconnecting", () => void alice.client.disconnect());
    alice.tap.deafen();
    const rekey = outcome(alice.client.rekey());
    await new Promise((r) => setTimeout(r, 100));
    alice.tap.cut();
    assert.match(await rekey, /^rejected: .*disconnected/);
    assert.equal(alice.client.state, "disconnected");
  } finally {
    await alice.client.disconnect();
    await server.close();
  }
});
